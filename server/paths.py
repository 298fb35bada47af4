"""Confine every path an MCP client names to the configured roots (see :mod:`ftds.tools.confinement`).

A path is resolved (symlinks followed, ``..`` collapsed) before the check, so neither traversal nor a
symlink pointing outside a root gets through; dot-folders below a root (``.ssh``, ``.aws``...) are refused.
Relative paths are taken relative to the first root.

With no root configured the working directory is the root — except when that is ``/``, the home directory
or a folder above it (where desktop clients start their servers): serving a whole home by accident is how a
client ends up reading ``~/.ssh``, so the server refuses to start and asks for ``--root``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ftds.tools.confinement import Confinement, PathNotAllowed

__all__ = ["PathNotAllowed", "UnsafeDefaultRoot", "allowed_roots", "confine"]


class UnsafeDefaultRoot(ValueError):
    """No root was configured and the working directory is too broad to serve."""


def _too_broad(folder: Path) -> bool:
    if folder == Path(folder.anchor):
        return True
    try:
        home = Path.home().resolve()
    except RuntimeError:  # no home directory known: only / counts as too broad
        return False
    return home.is_relative_to(folder)


def allowed_roots(configured: Sequence[Path]) -> list[Path]:
    """The configured roots, resolved; with none, the working directory unless it is too broad to serve."""
    if configured:
        return [Path(r).expanduser().resolve() for r in configured]
    cwd = Path.cwd().resolve()
    if _too_broad(cwd):
        raise UnsafeDefaultRoot(
            f"refusing to serve {cwd} (the root folder, your home folder or a folder above it) without --root: "
            "name the folders the MCP tools may use, e.g. --root ~/legal-docs (repeatable); to share the whole "
            "home folder on purpose, pass --root ~ (dot-folders such as ~/.ssh stay hidden either way)"
        )
    return [cwd]


def confine(raw: str, roots: Sequence[Path]) -> Path:
    """The resolved path for ``raw`` if it lies inside one of ``roots``; else :class:`PathNotAllowed`."""
    if not raw or "\x00" in raw:
        raise PathNotAllowed("empty or invalid path")
    candidate = Path(raw).expanduser()
    if not candidate.is_absolute():
        candidate = roots[0] / candidate
    return Confinement(tuple(roots)).check(candidate, raw)
