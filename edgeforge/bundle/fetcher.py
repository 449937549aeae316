"""A TUF fetcher that cannot be held up: an overall deadline and a minimum transfer rate.

urllib3's timeouts bound the gap between two received bytes, so a mirror that trickles one byte
a second never times out, and the updater would hold the install directory's lock for good.
Here each download runs in a helper thread and the updater's thread waits for its bytes: past
the update's deadline, or when fewer than `min_bytes_per_s` arrived over the last
`rate_window_s`, the download fails with TUF's SlowRetrievalError (the update is rejected and
the lock released) and the connection is shut down under the helper thread.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Iterator

DEADLINE_S = 1800.0  # a whole update: every metadata file and the bundle
MIN_BYTES_PER_S = 512.0  # averaged over RATE_WINDOW_S: GPRS-class links still pass
RATE_WINDOW_S = 60.0
SOCKET_TIMEOUT_S = 30.0
CHUNK_BYTES = 1 << 16
_DONE = object()


def deadline_fetcher(
    deadline_s: float = DEADLINE_S,
    min_bytes_per_s: float = MIN_BYTES_PER_S,
    rate_window_s: float = RATE_WINDOW_S,
    socket_timeout_s: float = SOCKET_TIMEOUT_S,
):
    """A fetcher for `tuf.ngclient.Updater`; the deadline counts from now."""
    from tuf.api import exceptions
    from tuf.ngclient import Urllib3Fetcher

    class DeadlineFetcher(Urllib3Fetcher):
        def __init__(self):
            super().__init__(socket_timeout=max(1, round(min(socket_timeout_s, deadline_s))), chunk_size=CHUNK_BYTES)
            self.deadline = time.monotonic() + deadline_s
            self._helper = threading.local()  # in a helper thread: the download it serves

        def _fetch(self, url: str) -> Iterator[bytes]:
            if time.monotonic() >= self.deadline:
                raise exceptions.SlowRetrievalError(f"the update's deadline of {deadline_s:g} s passed before {url}")
            chunks: queue.Queue = queue.Queue(maxsize=64)
            download = _Download(_Rate(min_bytes_per_s, rate_window_s))
            threading.Thread(target=self._produce, args=(url, chunks, download), daemon=True).start()
            # Wait for the first chunk here: TUF tells a failed connection from a failed body by
            # whether `_fetch` itself raises.
            first = self._next(url, chunks, download)
            return self._consume(url, chunks, download, first)

        def _produce(self, url: str, chunks: queue.Queue, download: _Download) -> None:
            self._helper.download = download
            try:
                for chunk in Urllib3Fetcher._fetch(self, url):
                    if not download.hand_over(chunks, chunk):
                        return
                download.hand_over(chunks, _DONE)
            except BaseException as error:  # noqa: BLE001 - handed to the waiting thread
                download.hand_over(chunks, error)

        def _chunks(self, response) -> Iterator[bytes]:
            """As urllib3's fetcher, but yielding whatever each read returns (`read1`), so the
            waiting thread sees a trickle as it comes and judges its rate."""
            import urllib3

            self._register(response)
            try:
                while True:
                    data = response.read1(self.chunk_size)
                    if not data:
                        return
                    yield data
            except urllib3.exceptions.TimeoutError as error:
                raise exceptions.SlowRetrievalError from error
            finally:
                response.release_conn()

        def _register(self, response) -> None:
            download = getattr(self._helper, "download", None)
            if download is not None:
                download.response = response

        def _consume(self, url, chunks, download, first) -> Iterator[bytes]:
            item = first
            try:
                while item is not _DONE:
                    yield item
                    item = self._next(url, chunks, download)
            finally:
                if item is not _DONE:
                    download.stop()  # failed, or abandoned by TUF (a length mismatch)

        def _next(self, url, chunks, download):
            while True:
                now = time.monotonic()
                if now >= self.deadline:
                    download.stop()
                    raise exceptions.SlowRetrievalError(f"the update's deadline of {deadline_s:g} s passed while downloading {url}")
                slow = download.rate.too_slow(now)
                if slow:
                    download.stop()
                    raise exceptions.SlowRetrievalError(f"{url}: {slow}")
                try:
                    item = chunks.get(timeout=min(1.0, self.deadline - now))
                except queue.Empty:
                    continue
                if isinstance(item, BaseException):
                    raise item
                if item is not _DONE:
                    download.rate.add(now, len(item))
                return item

    return DeadlineFetcher()


class _Download:
    """One download's shared state: the response (to shut down), whether to stop, its rate."""

    def __init__(self, rate: _Rate):
        self.response = None
        self.stopped = False
        self.rate = rate

    def hand_over(self, chunks: queue.Queue, item) -> bool:
        """Queue `item` for the waiting thread unless it gave up; False once it has."""
        while not self.stopped:
            try:
                chunks.put(item, timeout=1.0)
                return True
            except queue.Full:
                continue
        return False

    def stop(self) -> None:
        self.stopped = True
        response = self.response
        if response is not None:
            try:
                response.shutdown()  # wakes the helper thread blocked in a read
            except Exception:  # noqa: BLE001 - best effort: the thread is a daemon either way
                pass


class _Rate:
    """Bytes received over a sliding window; too slow once a full window is below the minimum."""

    def __init__(self, min_bytes_per_s: float, window_s: float):
        self.min_bytes_per_s = min_bytes_per_s
        self.window_s = window_s
        self.started = time.monotonic()
        self.received = deque([(self.started, 0)])  # (time, bytes received so far)
        self.total = 0

    def add(self, now: float, size: int) -> None:
        self.total += size
        self.received.append((now, self.total))

    def too_slow(self, now: float) -> str | None:
        if now - self.started < self.window_s:
            return None
        while len(self.received) > 1 and self.received[1][0] <= now - self.window_s:
            self.received.popleft()
        _, before = self.received[0]
        bytes_per_s = (self.total - before) / self.window_s
        if bytes_per_s < self.min_bytes_per_s:
            return (
                f"transfer rate {bytes_per_s:.0f} B/s over the last {self.window_s:g} s is below the minimum "
                f"of {self.min_bytes_per_s:g} B/s (a stalled or trickling mirror)"
            )
        return None
