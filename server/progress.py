"""Progress from synchronous callbacks to MCP ``notifications/progress``, in order and always increasing.

The build graph and the evaluation runner report progress through plain callbacks; a tool queues what they say
and one task (:meth:`ProgressPump.pump`) sends it, so notifications never race and never go backwards (the MCP
rule), however many callbacks fire at once.
"""

from __future__ import annotations

import asyncio

from mcp.server.mcpserver import Context

from ftds.agents.events import ChunkDoneEvent, ChunksEvent, ProgressEvent, ProgressTally


class ProgressPump:
    """Queue (progress, total, message) from callbacks; :meth:`pump` sends them until :meth:`close`."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._queue: asyncio.Queue[tuple[float, float | None, str] | None] = asyncio.Queue()

    def put(self, progress: float, total: float | None, message: str) -> None:
        self._queue.put_nowait((progress, total, message))

    async def pump(self) -> None:
        last = -1.0
        while (item := await self._queue.get()) is not None:
            progress, total, message = item
            if progress > last:  # notifications must increase
                last = progress
                await self._ctx.report_progress(progress, total, message)

    def close(self) -> None:
        self._queue.put_nowait(None)


class BuildProgressRelay(ProgressPump):
    """A build's typed progress events (counted by the same tally as the CLI's) as MCP notifications."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._tally = ProgressTally()

    def event(self, event: ProgressEvent) -> None:
        update = self._tally.apply(event)
        if update is not None and isinstance(event, ChunksEvent | ChunkDoneEvent):
            total = float(update.total) if update.total is not None else None
            self.put(float(update.done), total, update.message)
