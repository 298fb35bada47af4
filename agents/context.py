"""Run-time dependencies of the graph, injected per run so tests can swap in fakes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftds.tools.config import Settings
from ftds.tools.confinement import Confinement
from ftds.tools.llm.base import ChatModel

ProgressCallback = Callable[[str, dict[str, Any]], None]


def _ignore(event: str, data: dict[str, Any]) -> None:
    return None


@dataclass
class BuildContext:
    settings: Settings
    generator: ChatModel
    reviewer: ChatModel
    out_dir: Path
    run_id: str
    on_event: ProgressCallback = _ignore
    started: float = field(default_factory=time.perf_counter)
    confinement: Confinement | None = None  # set by the MCP server: files the run reads stay in its roots
