"""Progress for the CLI: a Rich live display on a terminal, plain lines when not a TTY (CI, pipes)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ftds.tools.records import RunSummary


class Reporter:
    def __init__(self, quiet: bool = False) -> None:
        self.console = Console(stderr=True)
        self.quiet = quiet
        self.live = self.console.is_terminal and not quiet
        self._progress: Progress | None = None
        self._task: Any = None
        self.totals = {"done": 0, "accepted": 0, "rejected": 0, "failed": 0, "tokens": 0}
        self._selected = 0
        self._chunks_seen: set[str] = set()  # a revised chunk reports more than once

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

    def _stats(self) -> str:
        t = self.totals
        return f"accepted {t['accepted']} rejected {t['rejected']} failed {t['failed']} tokens {t['tokens']}"

    def event(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "file" and data.get("status") != "loaded":
            message = f"{data['status']}: {data['source']}: {data['reason']}"
            self.console.print(f"[yellow]{message}") if self.live else self._line(message)
        elif kind == "note":
            self.console.print(f"[dim]{data['message']}") if self.live else self._line(data["message"])
        elif kind == "chunks":
            self._selected = data["selected"]
            if self._progress is not None:
                self._task = self._progress.add_task("chunks", total=data["selected"], stats=self._stats())
            else:
                self._line(f"chunks: {data['total']} found, {data['selected']} selected")
        elif kind == "chunk_done":
            t = self.totals
            first_report = data["chunk_id"] not in self._chunks_seen
            self._chunks_seen.add(data["chunk_id"])
            t["done"] = len(self._chunks_seen)
            for key in ("accepted", "rejected", "failed", "tokens"):
                t[key] += data[key]
            if self._progress is not None and self._task is not None:
                self._progress.update(self._task, advance=1 if first_report else 0, stats=self._stats())
            else:
                note = f" ({data['failure']})" if data.get("failure") else ""
                self._line(f"chunk {t['done']}/{self._selected}: +{data['accepted']} accepted{note}; {self._stats()}")

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
