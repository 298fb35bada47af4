"""MCP tools for loading literature."""

from __future__ import annotations

import asyncio
from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from ftds.server.limits import MAX_PASSAGE_CHARS, NameText, PathList, PathText
from ftds.server.models import LoadLiteratureResult
from ftds.server.state import ServerState, state_of, tool_annotations
from ftds.tools.config import ChunkSettings, ChunkStrategy
from ftds.tools.records import FileReport


def register(server: MCPServer[ServerState]) -> None:
    @server.tool(
        name="load_literature",
        annotations=tool_annotations(
            "Load and chunk literature", read_only=False, destructive=False, idempotent=True, open_world=False
        ),
    )
    async def load_literature(
        paths: Annotated[
            PathList, Field(description="Files or folders to load, inside the allowed roots.", min_length=1)
        ],
        ctx: Context,
        domain: Annotated[NameText, Field(description="Domain; 'law' splits statutes by article.")] = "general",
        strategy: Annotated[
            ChunkStrategy | None,
            Field(description="Chunking strategy: auto, legal, heading, recursive, token or fixed (default: config)."),
        ] = None,
        max_chars: Annotated[
            int, Field(description="Largest chunk in characters.", ge=50, le=MAX_PASSAGE_CHARS)
        ] = ChunkSettings().max_chars,
        overlap_chars: Annotated[
            int | None, Field(description="Characters repeated from the previous chunk (default: config).", ge=0)
        ] = None,
        text_field: Annotated[
            NameText | None, Field(description="CSV/XLSX column or JSON field holding each record's text.")
        ] = None,
        offset: Annotated[int, Field(description="First chunk of the page to return.", ge=0)] = 0,
        limit: Annotated[int, Field(description="Chunks per page.", ge=1, le=200)] = 20,
        out_path: Annotated[PathText | None, Field(description="Write all chunks to this JSONL file.")] = None,
    ) -> LoadLiteratureResult:
        """Load PDF, DOCX, EPUB, HTML, Markdown, text, CSV/XLSX/JSON/JSONL files and cut them into chunks with
        provenance (source, page, character span, heading path, stable id); every file is reported as loaded,
        skipped or failed with a reason. Reports progress per file. Returns one page of chunks; pass out_path
        to get them all in a file."""
        state = state_of(ctx)
        resolved = [state.path(p, whole_folder=False) for p in paths]  # the walk reports links per file
        update: dict[str, object] = {"max_chars": max_chars}
        if strategy is not None:
            update["strategy"] = strategy
        if overlap_chars is not None:
            update["overlap_chars"] = overlap_chars
        from ftds.tools.dataset.files import write_jsonl  # the readers and chunkers load on first use
        from ftds.tools.ingest import load_literature as load_literature_files

        chunking = state.settings.chunking.model_copy(update=update)
        ingest = state.settings.ingest.model_copy(update={"text_field": text_field} if text_field else {})
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[int, int, str] | None] = asyncio.Queue()

        def progress(done: int, total: int, report: FileReport) -> None:
            # runs in the worker thread: hand each update to the event loop, which sends them in order
            loop.call_soon_threadsafe(queue.put_nowait, (done, total, f"{report.status}: {report.source}"))

        async def send_progress() -> None:
            while (update := await queue.get()) is not None:
                await ctx.report_progress(*update)

        sender = asyncio.create_task(send_progress())
        try:
            result = await asyncio.to_thread(
                load_literature_files,
                resolved,
                chunking,
                domain,
                ingest=ingest,
                progress=progress,
                confine_to=state.confinement(),
            )
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        finally:
            queue.put_nowait(None)
            await sender
        chunks_file = None
        if out_path:
            target = state.path(out_path)
            try:
                await asyncio.to_thread(write_jsonl, target, (c.model_dump(mode="json") for c in result.chunks))
            except OSError as exc:
                raise ToolError(f"out_path {out_path} cannot be written ({exc.strerror}); pass a file path") from None
            chunks_file = str(target)
        end = offset + limit
        return LoadLiteratureResult(
            files=result.files,
            total_chunks=len(result.chunks),
            chunks=result.chunks[offset:end],
            offset=offset,
            next_offset=end if end < len(result.chunks) else None,
            chunks_file=chunks_file,
        )
