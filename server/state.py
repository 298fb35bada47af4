"""Shared state of a running server, and helpers every tool module uses."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from ftds.server.paths import PathNotAllowed, confine
from ftds.server.roots import client_roots
from ftds.tools.config import Settings
from ftds.tools.confinement import Confinement
from ftds.tools.llm import ChatModel, LLMError, make_chat_model
from ftds.tools.redact import redact_text


@dataclass
class ServerState:
    settings: Settings
    roots: list[Path]
    _llm: ChatModel | None = None
    background: dict[str, asyncio.Task[Any]] = field(default_factory=dict)  # build runs started with wait=false
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def llm(self) -> ChatModel:
        async with self._lock:
            if self._llm is None:
                try:
                    self._llm = make_chat_model(self.settings.llm, self.settings.cache_dir)
                except LLMError as exc:
                    raise ToolError(redact_text(str(exc))) from None
            return self._llm

    async def aclose(self) -> None:
        for task in self.background.values():  # stopped runs stay resumable from their checkpoints
            task.cancel()
        await asyncio.gather(*self.background.values(), return_exceptions=True)
        if self._llm is not None:
            await self._llm.aclose()

    def confinement(self) -> Confinement:
        """This call's roots: the client's MCP roots when it declared them, else the configured ones."""
        return Confinement(tuple(client_roots.get() or self.roots))

    def path(self, raw: str, *, whole_folder: bool = True) -> Path:
        """``raw`` resolved and confined to the roots. An existing folder must also hold no symlink leading
        out of them (writing into it, or reading a dataset folder, would follow one); ``whole_folder=False``
        leaves that to a folder walk that reports such links per file (load_literature, build_dataset)."""
        confinement = self.confinement()
        try:
            resolved = confine(raw, confinement.roots)
            if whole_folder:
                confinement.check_tree(resolved, raw)
        except PathNotAllowed as exc:
            raise ToolError(str(exc)) from None
        return resolved


def state_of(ctx: Context) -> ServerState:
    state = ctx.request_context.lifespan_context
    assert isinstance(state, ServerState)
    return state


def tool_annotations(
    title: str, *, read_only: bool, destructive: bool, idempotent: bool, open_world: bool
) -> ToolAnnotations:
    return ToolAnnotations(
        title=title,
        readOnlyHint=read_only,
        destructiveHint=destructive,
        idempotentHint=idempotent,
        openWorldHint=open_world,
    )
