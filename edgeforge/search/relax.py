"""Relaxations: the smallest change to one constraint that makes an infeasible target feasible.

For each violated constraint, the candidates that miss only that one say how far it must move:
the least it must be raised (limits) or lowered (minimums) for the best of them to pass. When no
single constraint suffices, the closest candidate's misses together are the relaxation.

    >>> describe_relaxations([Relaxation(("ram_kb",), (72,), "w0.5-s0-c0-int8"), ...])
    'raise ram_kb to 72 or lower min_accuracy to 0.93'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edgeforge.outputs import CONSTRAINT_METRICS, CandidateResult, TargetSearch


@dataclass(frozen=True)
class Relaxation:
    constraints: tuple[str, ...]
    limits: tuple[float, ...]
    candidate: str  # the candidate that becomes feasible

    def describe(self) -> str:
        return " and ".join(_phrase(key, limit) for key, limit in zip(self.constraints, self.limits))

    def as_dict(self) -> dict:
        return {"set": dict(zip(self.constraints, self.limits)), "candidate": self.candidate, "text": self.describe()}


def relaxations(result: TargetSearch) -> list[Relaxation]:
    """Ways to make the target feasible, one per constraint that alone suffices; else the closest's."""
    measured = [entry for entry in result.measured() if not entry.feasible]
    single: dict[str, Relaxation] = {}
    for entry in measured:
        misses = [check for check in entry.checks if not check.ok]
        if len(misses) != 1:
            continue
        check = misses[0]
        limit = _relaxed(check.constraint, check.value)
        best = single.get(check.constraint)
        if best is None or _looser(check.constraint, best.limits[0], limit):
            single[check.constraint] = Relaxation((check.constraint,), (limit,), entry.id)
    if single:
        return [single[key] for key in sorted(single, key=lambda k: _distance(single[k], result))]
    if not measured:
        return []
    closest = closest_candidate(measured)
    misses = [check for check in closest.checks if not check.ok]
    return [Relaxation(
        tuple(c.constraint for c in misses), tuple(_relaxed(c.constraint, c.value) for c in misses), closest.id
    )]


def closest_candidate(measured: list[CandidateResult]) -> CandidateResult:
    """The candidate whose misses add up to the least relative excess."""
    return min(measured, key=lambda entry: sum(check.excess for check in entry.checks))


def describe_relaxations(found: list[Relaxation]) -> str:
    return " or ".join(relaxation.describe() for relaxation in found)


def _relaxed(key: str, value: float) -> float:
    """The value rounded outward to two significant figures, so the relaxed limit admits it."""
    if value == 0:
        return 0.0
    step = 10 ** (math.floor(math.log10(abs(value))) - 1)
    rounded = math.ceil(value / step) * step if _is_limit(key) else math.floor(value / step) * step
    return float(f"{rounded:.6g}")


def _is_limit(key: str) -> bool:
    return CONSTRAINT_METRICS[key][2] == "max"


def _looser(key: str, current: float, candidate: float) -> bool:
    """True when `candidate` is a smaller change than `current`."""
    return candidate < current if _is_limit(key) else candidate > current


def _distance(relaxation: Relaxation, result: TargetSearch) -> float:
    key, limit = relaxation.constraints[0], relaxation.limits[0]
    current = result.constraints[key]
    return abs(limit - current) / (abs(current) or 1.0)


def _phrase(key: str, limit: float) -> str:
    return f"{'raise' if _is_limit(key) else 'lower'} {key} to {limit:g}"
