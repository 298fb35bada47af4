"""Progress events of a build, as typed records, and the one tally that the CLI and the MCP server both read.

The graph emits events through ``BuildContext.on_event``; a consumer feeds them to :class:`ProgressTally`
and shows what it returns (a Rich bar or plain lines in the CLI, ``notifications/progress`` over MCP), so the
two surfaces can never count differently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from ftds.tools.records import FileReport
from ftds.tools.text_safety import printable


class FileEvent(BaseModel):
    kind: Literal["file"] = "file"
    report: FileReport


class ChunksEvent(BaseModel):
    kind: Literal["chunks"] = "chunks"
    total: int
    selected: int


class ChunkDoneEvent(BaseModel):
    kind: Literal["chunk_done"] = "chunk_done"
    chunk_id: str
    generated: int
    accepted: int
    rejected: int
    failed: int
    tokens: int
    failure: str | None = None


class NoteEvent(BaseModel):
    kind: Literal["note"] = "note"
    message: str


class FinishedEvent(BaseModel):
    kind: Literal["finished"] = "finished"
    accepted: int
    out_dir: str


ProgressEvent = FileEvent | ChunksEvent | ChunkDoneEvent | NoteEvent | FinishedEvent
ProgressCallback = Callable[[ProgressEvent], None]


def ignore(event: ProgressEvent) -> None:
    return None


@dataclass
class ProgressUpdate:
    """What a consumer shows for one event: ``done`` of ``total`` chunks (None when not known yet) and a line."""

    done: int
    total: int | None
    message: str
    advanced: bool
    """True when this event finished a chunk (a progress bar moves)."""


@dataclass
class ProgressTally:
    selected: int | None = None
    done: int = 0
    accepted: int = 0
    rejected: int = 0
    failed: int = 0
    tokens: int = 0
    _seen: set[str] = field(default_factory=set)

    def stats(self) -> str:
        return f"accepted {self.accepted} rejected {self.rejected} failed {self.failed} tokens {self.tokens}"

    def apply(self, event: ProgressEvent) -> ProgressUpdate | None:
        """Count the event; returns what to show, or None for an event with nothing to show."""
        if isinstance(event, FileEvent):
            if event.report.status == "loaded":
                return None
            report = event.report
            return self._update(f"{report.status}: {printable(report.source)}: {printable(report.reason)}", False)
        if isinstance(event, ChunksEvent):
            self.selected = event.selected
            return self._update(f"chunks: {event.total} found, {event.selected} selected", advanced=False)
        if isinstance(event, ChunkDoneEvent):
            advanced = event.chunk_id not in self._seen
            self._seen.add(event.chunk_id)
            self.done = len(self._seen)
            self.accepted += event.accepted
            self.rejected += event.rejected
            self.failed += event.failed
            self.tokens += event.tokens
            note = f" ({event.failure})" if event.failure else ""
            total = self.selected if self.selected is not None else "?"
            message = f"chunk {self.done}/{total}: +{event.accepted} accepted{note}; {self.stats()}"
            return self._update(message, advanced=advanced)
        if isinstance(event, NoteEvent):
            return self._update(event.message, advanced=False)
        return self._update(f"finished: {event.accepted} accepted -> {event.out_dir}", advanced=False)

    def _update(self, message: str, advanced: bool) -> ProgressUpdate:
        return ProgressUpdate(self.done, self.selected, message, advanced)
