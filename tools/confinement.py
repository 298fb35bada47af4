"""Confine file access to a set of root folders: the check every file the MCP server opens goes through.

A path is resolved (symlinks followed, ``..`` collapsed) before it is compared with the roots, so neither
traversal nor a symlink pointing elsewhere gets through; and no part of it below its root may start with a
dot, so ``.ssh``, ``.gnupg``, ``.aws`` or ``.config`` inside a root stay private unless a root names them
itself. The same check serves a path a client names, a file a folder walk meets, a split a dataset folder
lists and a folder a tool writes into. Plain functions: the ingest walker uses them without any server.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


class PathNotAllowed(PermissionError):
    """A path resolves outside the roots, into a hidden folder, or cannot be resolved (a link loop)."""


class LinkLoop(PathNotAllowed):
    """A symlink that leads back to itself: it names no file at all."""


def resolve(path: Path) -> Path:
    """``path`` with every symlink followed; a link loop becomes :class:`LinkLoop` with a reason."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError for a loop, 3.13 OSError
        raise LinkLoop(f"{path.name} is a symlink loop (a link that leads back to itself)") from None


@dataclass(frozen=True)
class Confinement:
    """The folders file access is confined to (already resolved)."""

    roots: tuple[Path, ...]

    @classmethod
    def of(cls, roots: Iterable[Path]) -> Confinement:
        return cls(tuple(Path(r).expanduser().resolve() for r in roots))

    def describe(self) -> str:
        return ", ".join(str(r) for r in self.roots)

    def check(self, path: Path, shown: str | None = None) -> Path:
        """The resolved ``path`` if it lies inside a root and below no dot-folder; else :class:`PathNotAllowed`.

        ``shown`` is how the path is named in the error (the client's own spelling, or a walk-relative name).
        """
        shown = shown or str(path)
        resolved = resolve(path)
        for root in self.roots:
            if resolved == root or resolved.is_relative_to(root):
                hidden = [part for part in resolved.relative_to(root).parts if part.startswith(".")]
                if hidden:
                    raise PathNotAllowed(
                        f"{shown} is inside the hidden folder or file {hidden[0]!r}, which this server never "
                        f"serves; name that folder itself as a root (--root) if it is meant to be shared"
                    )
                return resolved
        raise PathNotAllowed(
            f"{shown} is outside the folders this server may access ({self.describe()}); "
            "use a path inside them or start the server with --root for another folder"
        )

    def escaping_links(self, folder: Path) -> list[str]:
        """Entries under ``folder`` (walked without following links) that are symlinks leading outside the
        roots, into a dot-folder, or nowhere resolvable, each with its reason. Writing into such a folder
        would follow them; reading a folder of datasets would too."""
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(folder):  # os.walk lists links but never enters them
            for name in dirnames + filenames:
                entry = Path(dirpath) / name
                if not entry.is_symlink():
                    continue
                try:
                    self.check(entry, str(entry.relative_to(folder)))
                except PathNotAllowed as exc:
                    found.append(str(exc))
        return found

    def check_tree(self, folder: Path, shown: str) -> None:
        """Refuse ``folder`` when a symlink inside it leads outside the roots (see :meth:`escaping_links`)."""
        if not folder.is_dir():
            return
        escaping = self.escaping_links(folder)
        if escaping:
            more = f" (and {len(escaping) - 1} more)" if len(escaping) > 1 else ""
            raise PathNotAllowed(
                f"{shown} holds a link this server will not follow: {escaping[0]}{more}; "
                "remove the link or copy its target into the folder"
            )
        self._check_dataset_references(folder, shown)

    def _check_dataset_references(self, folder: Path, shown: str) -> None:
        """A ``save_to_disk`` folder names its split folders and data files in JSON; ``datasets`` joins those
        names to the folder, so ``../../elsewhere`` would be read. Every such name must stay inside."""
        for dirpath, _, filenames in os.walk(folder):
            here = Path(dirpath)
            names: list[str] = []
            if "dataset_dict.json" in filenames:
                names += [s for s in _json_list(here / "dataset_dict.json", "splits") if isinstance(s, str)]
            if "state.json" in filenames:
                files = _json_list(here / "state.json", "_data_files")
                names += [str(f.get("filename", "")) for f in files if isinstance(f, dict)]
            for name in names:
                self.check(here / name, f"{shown}: the dataset entry {name!r}")


def _json_list(path: Path, key: str) -> Sequence[object]:
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get(key, [])
    except (OSError, ValueError, AttributeError):
        return []  # not a datasets file after all: the reader reports it
    return value if isinstance(value, list) else []
