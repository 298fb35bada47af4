"""MCP tools for loading literature."""

from __future__ import annotations

import asyncio
from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from pydantic import Field

from ftds.server.models import LoadLiteratureResult
from ftds.server.state import ServerState, state_of, tool_annotations
from ftds.tools.config import ChunkSettings
from ftds.tools.export import write_jsonl
from ftds.tools.ingest import load_literature as load_literature_files


def register(server: MCPServer[ServerState]) -> None:
    @server.tool(
        name="load_literature",
        annotations=tool_annotations(
            "Load and chunk literature", read_only=False, destructive=False, idempotent=True, open_world=False
        ),
    )
    async def load_literature(
        paths: Annotated[
            list[str], Field(description="Files or folders to load, inside the allowed roots.", min_length=1)
        ],
        ctx: Context,
        domain: Annotated[str, Field(description="Domain; 'law' splits statutes by article.")] = "general",
        max_chars: Annotated[
            int, Field(description="Largest chunk in characters.", ge=50, le=20000)
        ] = ChunkSettings().max_chars,
        offset: Annotated[int, Field(description="First chunk of the page to return.", ge=0)] = 0,
        limit: Annotated[int, Field(description="Chunks per page.", ge=1, le=200)] = 20,
        out_path: Annotated[str | None, Field(description="Write all chunks to this JSONL file.")] = None,
    ) -> LoadLiteratureResult:
        """Load documents and cut them into chunks with provenance; every file is reported as loaded,
        skipped or failed with a reason. Returns one page of chunks; pass out_path to get them all in a file."""
        state = state_of(ctx)
        resolved = [state.path(p) for p in paths]
        chunking = state.settings.chunking.model_copy(update={"max_chars": max_chars})
        result = await asyncio.to_thread(load_literature_files, resolved, chunking, domain)
        chunks_file = None
        if out_path:
            target = state.path(out_path)
            await asyncio.to_thread(write_jsonl, target, (c.model_dump(mode="json") for c in result.chunks))
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
