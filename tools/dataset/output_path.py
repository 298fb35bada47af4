"""Check an output location before any work starts, so a bad ``--out`` costs a sentence, not a traceback
after minutes of parsing.

One function for every verb that writes (ingest, convert, dedupe, split, export, build; the MCP tools can use
it too). It does what the write will do, early: it creates the missing folders and writes (then removes) a
probe file there. That is the only reliable test — permission bits say nothing about read-only mounts, and
root passes every permission check yet cannot create a file in ``/proc``.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Literal

OutputKind = Literal["file", "folder"]
_NAME_MAX, _PATH_MAX = 255, 4096


class OutputPathError(ValueError):
    """An output location that cannot be written; the message says why and what to do."""


def shorten(path: str | Path, limit: int = 80) -> str:
    """A path fit for one line of an error message (a 5,000-character path is cut in the middle)."""
    text = str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if len(text) <= limit:
        return text
    return f"{text[: limit // 2]}…{text[-limit // 4 :]} ({len(text)} characters)"


def _too_long(path: Path) -> str | None:
    encoded = os.fsencode(path)
    longest = max((len(part) for part in encoded.split(b"/")), default=0)
    if longest > _NAME_MAX:
        return f"has a name {longest} bytes long; file systems allow {_NAME_MAX}"
    if len(os.fsencode(path.absolute())) >= _PATH_MAX:
        return f"is {len(encoded)} bytes long; paths are limited to {_PATH_MAX}"
    return None


def _first_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return candidate
    return Path(path.anchor or ".")


def _reason(exc: OSError) -> str:
    if exc.errno == errno.EROFS:
        return "cannot write there: the file system is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "cannot write there: permission denied"
    if exc.errno == errno.ENOSPC:
        return "cannot write there: the disk is full"
    if exc.errno == errno.ENAMETOOLONG:
        return "is too long for the file system"
    return f"cannot be created ({exc.strerror})"


def check_output_path(path: Path, kind: OutputKind, option: str = "--out") -> Path:
    """``path`` if a ``kind`` ("file" or "folder") can be written there; else :class:`OutputPathError`.

    Missing parent folders (and the folder itself, for a folder output) are created, as the write would; an
    existing file is fine for a file output (it is replaced). Nothing else is left behind.
    """
    shown = f"{option} {shorten(path)}"
    too_long = _too_long(path)
    if too_long:
        raise OutputPathError(f"{shown} is too long: it {too_long}; choose a shorter path")
    existing = _first_existing(path)
    if existing == path and path.is_dir() and kind == "file":
        raise OutputPathError(
            f"{shown} is a folder; {option} needs a file path here, e.g. {shorten(path / 'out.jsonl')}"
        )
    if existing == path and not path.is_dir() and kind == "folder":
        raise OutputPathError(f"{shown} is a file; {option} needs a folder here (a new or an existing one)")
    if existing != path and not existing.is_dir():
        raise OutputPathError(f"{shown}: {shorten(existing)} is a file, not a folder; choose a path outside it")
    folder = path if kind == "folder" else path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".ftds-write-probe-"):
            pass
    except OSError as exc:
        raise OutputPathError(f"{shown} {_reason(exc)}; choose another location") from None
    return path
