"""Shared pieces of the ``ftds-agent`` command line: the app, exit codes, option types, errors.

``ftds-agent``: the command line. Every verb follows ``ftds-agent VERB INPUT... --out PATH`` with
``--json`` for machine-readable output. Exit codes: see ``exit_codes``.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from ftds.agents.exit_codes import EXIT_USAGE
from ftds.tools.config import Settings, load_settings
from ftds.tools.redact import redact_text
from ftds.tools.text_safety import printable

if TYPE_CHECKING:
    from pydantic import ValidationError

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
JudgeOpt = Annotated[
    str | None,
    typer.Option(help="The rubric call after the checks: auto (not with the embedded reviewer), always, never."),
]

AnswerCheckOpt = Annotated[
    str | None,
    typer.Option(
        help="The answer check (the reviewer's P(yes) that the answer answers its question): auto (with the "
        "embedded reviewer), always, never."
    ),
]
MinAnswerProbabilityOpt = Annotated[
    float | None,
    typer.Option(help="P(yes) the answer check needs (default: measured per prompt language).", show_default=False),
]
MinUnconfirmedProbabilityOpt = Annotated[
    float | None,
    typer.Option(
        help="P(yes) that keeps an answer without asking the round trip; below it the round trip must confirm "
        "(default: measured per prompt language; in Chinese the answer check's own bar).",
        show_default=False,
    ),
]


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"error: {redact_text(message)}", err=True)
    return typer.Exit(code)


def settings_from(config: Path | None, **sections: dict[str, Any]) -> Settings:
    from pydantic import ValidationError

    try:
        return load_settings(config, **sections)
    except ValidationError as exc:
        raise fail(settings_sentence(exc)) from None
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None


# the option that sets a setting, where the verbs name it differently from the setting
_FLAGS = {
    "split.train": "--train", "split.validation": "--validation", "split.test": "--test", "split.seed": "--seed",
    "chunking.max_chars": "--max-chars", "chunking.overlap_chars": "--overlap", "chunking.strategy": "--strategy",
    "ingest.max_file_mb": "--max-file-mb", "ingest.text_field": "--text-field", "build.accept_threshold": "--threshold",
    "build.max_chunks": "--max-chunks", "build.questions_per_chunk": "--questions-per-chunk",
    "build.target": "--target", "build.task": "--task", "build.domain": "--domain", "llm.backend": "--backend",
}  # fmt: skip
_BOUNDS = {"less_than_equal": ("le", "at most"), "greater_than_equal": ("ge", "at least"),
           "less_than": ("lt", "less than"), "greater_than": ("gt", "more than")}  # fmt: skip


def settings_sentence(exc: ValidationError) -> str:
    """A settings error as sentences a user can act on ("--train must be at most 1 (got 1.5)"), not
    pydantic's dump with error types and links."""
    sentences = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        name = _FLAGS.get(where) or (f"the setting {where}" if where else "the settings")
        message = str(error["msg"]).removeprefix("Value error, ")
        bound = _BOUNDS.get(str(error["type"]))
        if bound and error.get("ctx") and bound[0] in error["ctx"]:
            sentences.append(f"{name} must be {bound[1]} {error['ctx'][bound[0]]} (got {error.get('input')!r})")
        elif error["type"] == "value_error" and where.count(".") == 0:
            sentences.append(message)  # a rule over several settings says it all itself
        else:
            sentences.append(f"{name}: {message} (got {error.get('input')!r})")
    return "; ".join(sentences)


def check_inputs(paths: Iterable[Path]) -> None:
    """Exit 2 with a sentence for an input that is missing or cannot be a path, before any work."""
    from ftds.tools.dataset.output_path import shorten

    for path in paths:
        try:
            os.lstat(path)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                raise fail(f"input not found: {printable(shorten(path))}; check the path") from None
            if exc.errno == errno.ENAMETOOLONG:
                raise fail(f"input {printable(shorten(path))}: the path is too long; check it") from None
            raise fail(f"input {printable(shorten(path))}: cannot be read ({exc.strerror})") from None


def output_path(path: Path, kind: Literal["file", "folder"]) -> Path:
    """``--out`` checked before any work (see :func:`ftds.tools.dataset.output_path.check_output_path`)."""
    from ftds.tools.dataset.output_path import OutputPathError, check_output_path

    try:
        return check_output_path(path, kind)
    except OutputPathError as exc:
        raise fail(printable(str(exc))) from None
