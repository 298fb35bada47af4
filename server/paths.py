"""Confine every path an MCP client names to the configured roots.

A path is resolved (symlinks followed, ``..`` collapsed) before the check, so neither traversal nor a
symlink pointing outside a root gets through. Relative paths are taken relative to the first root.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class PathNotAllowed(PermissionError):
    pass


def allowed_roots(configured: Sequence[Path]) -> list[Path]:
    return [Path(r).expanduser().resolve() for r in configured] or [Path.cwd().resolve()]


def confine(raw: str, roots: Sequence[Path]) -> Path:
    """The resolved path for ``raw`` if it lies inside one of ``roots``; else :class:`PathNotAllowed`."""
    if not raw or "\x00" in raw:
        raise PathNotAllowed("empty or invalid path")
    candidate = Path(raw).expanduser()
    if not candidate.is_absolute():
        candidate = roots[0] / candidate
    resolved = candidate.resolve()
    for root in roots:
        if resolved == root or resolved.is_relative_to(root):
            return resolved
    shown = ", ".join(str(r) for r in roots)
    raise PathNotAllowed(
        f"{raw} is outside the folders this server may access ({shown}); "
        "use a path inside them or start the server with --root for another folder"
    )
