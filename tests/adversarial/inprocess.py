"""``ftds-agent`` run in this process (Typer's runner) for the many small CLI cases: the same code path as the
executable minus interpreter start-up, which keeps the suite fast. An exception that escapes the CLI is turned
into a "Traceback" in stderr, so the tests' no-traceback checks hold here as in a subprocess."""

from __future__ import annotations

import subprocess
import traceback
from pathlib import Path

from typer.testing import CliRunner

from ftds.agents.cli import app


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    import os

    before = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, list(args), catch_exceptions=True)
    finally:
        os.chdir(before)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "Traceback (most recent call last):\n" + "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, stderr)
