"""Shared pieces of the ``ftds-agent`` command line: the app, exit codes, option types, errors.

``ftds-agent``: the command line. Every verb follows ``ftds-agent VERB INPUT... --out PATH`` with
``--json`` for machine-readable output. Exit codes: see ``exit_codes``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ftds.agents.exit_codes import EXIT_USAGE
from ftds.tools.config import Settings, load_settings
from ftds.tools.redact import redact_text

app = typer.Typer(
    name="ftds-agent",
    help="Turn domain literature into fine-tuning datasets trainers load without a fix.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="Manage the embedded models.", no_args_is_help=True)
app.add_typer(models_app, name="models")

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Config file (TOML).", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON result on stdout.")]


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"error: {redact_text(message)}", err=True)
    return typer.Exit(code)


def settings_from(config: Path | None, **sections: dict[str, Any]) -> Settings:
    try:
        return load_settings(config, **sections)
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
