"""An exception nothing expected is still one line (its traceback in a file) and exit 2; -v shows it."""

from __future__ import annotations

import os
import re

import pytest

from edgeforge import cli
from edgeforge.commands import schema


def _broken(args):
    raise ZeroDivisionError("division by zero\nsecond line")


def test_an_unexpected_exception_is_one_line_naming_its_traceback_file(monkeypatch, capsys):
    monkeypatch.setattr(schema, "run", _broken)
    assert cli.main(["schema"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("edgeforge schema: internal error: ZeroDivisionError: division by zero (traceback in ")
    path = re.search(r"traceback in (\S+);", err).group(1)
    with open(path) as file:
        assert "Traceback" in file.read()
    os.unlink(path)


def test_verbose_shows_the_traceback(monkeypatch):
    monkeypatch.setattr(schema, "run", _broken)
    with pytest.raises(ZeroDivisionError):
        cli.main(["-v", "schema"])
