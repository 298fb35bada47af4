"""Progress for the CLI: a Rich live display on a terminal, plain lines when not a TTY (CI, pipes)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any, Self

from rich.console import Console
from rich.markup import escape as rich_escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ftds.agents.events import (
    ChunkDoneEvent,
    ChunksEvent,
    FileEvent,
    FinishedEvent,
    ProgressEvent,
    ProgressTally,
)
from ftds.tools.records import RunSummary


class Reporter:
    """Shows build progress events (``agents/events.py``): counted by the shared tally, drawn by Rich on a
    terminal, printed as plain lines otherwise."""

    def __init__(self, quiet: bool = False) -> None:
        self.console = Console(stderr=True)
        self.quiet = quiet
        self.live = self.console.is_terminal and not quiet
        self.tally = ProgressTally()
        self._progress: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> Reporter:
        if self.live:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.console,
            )
            self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _line(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def event(self, event: ProgressEvent) -> None:
        update = self.tally.apply(event)
        if update is None or isinstance(event, FinishedEvent):
            return
        if self._progress is None:
            self._line(update.message)
        elif isinstance(event, ChunksEvent):
            self._task = self._progress.add_task("chunks", total=event.selected, stats=self.tally.stats())
        elif isinstance(event, ChunkDoneEvent):
            if self._task is not None:
                self._progress.update(self._task, advance=1 if update.advanced else 0, stats=self.tally.stats())
        else:
            style = "yellow" if isinstance(event, FileEvent) else "dim"
            self.console.print(f"[{style}]{rich_escape(update.message)}")

    def print_summary(self, summary: RunSummary) -> None:
        c = self.console
        c.print(
            f"[bold]run {summary.run_id}[/]: {summary.accepted} accepted, {summary.rejected} rejected, "
            f"{summary.failed} failed from {summary.generated} generated "
            f"({summary.chunks_selected} of {summary.chunks} chunks) in {summary.wall_time_s:.0f}s"
        )
        c.print("splits: " + ", ".join(f"{k} {v}" for k, v in summary.splits.items()))
        for reason, count in {**summary.rejection_reasons, **summary.failure_reasons}.items():
            c.print(f"  {reason}: {count}")
        for item in summary.files_failed:
            c.print(f"[red]failed file[/] {item.item_id}: {item.reason}")
        c.print(f"report: {summary.outputs.get('report')}")


def make_reporter(quiet: bool = False) -> Reporter:
    return Reporter(quiet=quiet)


class StepProgress:
    """A Rich bar on a terminal; one plain line per step otherwise (CI logs, pipes)."""

    def __init__(self, what: str, quiet: bool) -> None:
        self.console = Console(stderr=True)
        self.quiet = quiet
        self.what = what
        self._bar: Progress | None = None
        self._task: Any = None

    @property
    def live(self) -> bool:
        """True when a Rich bar is drawn (a terminal), False for plain lines."""
        return self.console.is_terminal and not self.quiet

    def __enter__(self) -> Self:
        if self.live:
            self._bar = Progress(
                TextColumn(f"[bold]{self.what}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                TimeElapsedColumn(), console=self.console,
            )  # fmt: skip
            self._bar.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, done: int, total: int, message: str, note: str = "") -> None:
        """Step ``done`` of ``total``: the bar's text is ``message``; ``note`` (a problem worth a line of its own:
        Rich markup on a terminal, plain text otherwise) is printed above the bar, or appended to the line."""
        if self._bar is not None:
            if self._task is None:
                self._task = self._bar.add_task("", total=total)
            self._bar.update(self._task, completed=done, total=total, description=message[-60:])
            if note:
                self._bar.console.print(note)
        elif not self.quiet:
            line = f"{self.what} {done}/{total}: {message} {note}".rstrip()
            print(line, file=sys.stderr, flush=True)
