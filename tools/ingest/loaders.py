"""Read files into cleaned :class:`Document` records; one bad file never stops the others.

Every file found ends in exactly one :class:`FileReport` — loaded, skipped (unsupported type) or failed —
with a reason a person can act on. The file is read once, after the size check; the reader for its type
(:mod:`ftds.tools.ingest.registry`) turns it into text, pages or records; cleaning and provenance are then
the same for every format.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ftds.tools.config import ChunkSettings, IngestSettings
from ftds.tools.confinement import Confinement, LinkLoop, PathNotAllowed
from ftds.tools.ingest.base import Extracted, LoadError
from ftds.tools.ingest.cleaning import clean_text, decode_bytes, join_blocks, join_pages, strip_page_furniture
from ftds.tools.ingest.registry import READERS, reader_for, unsupported_reason
from ftds.tools.ingest.safety import check_size
from ftds.tools.language import detect_language
from ftds.tools.records import Chunk, Document, FileReport, content_hash

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "LiteratureResult",
    "LoadError",
    "ProgressCallback",
    "clean_text",
    "decode_bytes",
    "iter_files",
    "load_documents",
    "load_literature",
    "read_document",
    "walk_inputs",
]

DEFAULT_MAX_FILE_BYTES = int(IngestSettings().max_file_mb * 1024 * 1024)
TEXT_SUFFIXES = {suffix: target.split(":")[1].removeprefix("read_") for suffix, target in READERS.items()}

ProgressCallback = Callable[[int, int, FileReport], None]
"""Called after each file with (files done, files total, that file's report)."""


def _document(extracted: Extracted, source: str, path: Path) -> Document:
    page_starts: list[int] = []
    record_starts: list[int] = []
    labels: list[str] = []
    if extracted.pages is not None:
        text, page_starts = join_pages(strip_page_furniture(extracted.pages))
    elif extracted.records is not None:
        joined, starts = join_blocks(clean_text(record).rstrip("\n") for _, record in extracted.records)
        record_starts = [start for start in starts if start is not None]
        labels = [label for (label, _), start in zip(extracted.records, starts, strict=True) if start is not None]
        text = joined + "\n" if joined else ""
    else:
        text = clean_text(extracted.text or "", join_hyphens=extracted.format == "text")
    if not text.strip():
        raise LoadError(f"{path.name}: contains no text after cleaning; is it empty or only images?")
    return Document(
        doc_id=content_hash(source, text),
        source=source,
        text=text,
        title=extracted.title or path.stem,
        language=detect_language(text[:5000]),
        format=extracted.format,
        page_starts=page_starts,
        record_starts=record_starts,
        record_labels=labels,
        metadata={
            **({"notes": "; ".join(extracted.notes)} if extracted.notes else {}),
            **({"unreadable": str(extracted.unreadable)} if extracted.unreadable else {}),
        },
    )


def _source(path: Path, root: Path) -> str:
    """The path relative to its input root, as valid text: bytes that are not UTF-8 in a file name (kept by
    Python as lone surrogates, which JSON and terminals refuse) are shown as \\xNN escapes."""
    return _shown(path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name)


def read_document(
    path: Path, root: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES, limits: IngestSettings | None = None
) -> Document:
    """Read one file into a cleaned Document; raises :class:`LoadError` (or OSError) with a reason."""
    limits = limits or IngestSettings(max_file_mb=max_bytes / (1024 * 1024))
    reader = reader_for(path)
    if reader is None:
        raise LoadError(f"{path.name}: {unsupported_reason(path)}")
    check_size(path, path.stat().st_size, limits)
    with path.open("rb") as handle:
        data = handle.read()
    check_size(path, len(data), limits)
    return _document(reader(data, path, limits), _source(path, root), path)


def iter_files(inputs: Iterable[Path]) -> Iterable[tuple[Path, Path]]:
    """(file, root) pairs: folders are walked recursively in a stable order; hidden files are left out."""
    for path, root, reason in walk_inputs(inputs):
        if reason is None:
            yield path, root


Unread = tuple[Literal["skipped", "failed"], str]
"""Why a found path is not read: skipped on purpose (hidden, a folder link, a FIFO) or failed (to be fixed)."""

_HIDDEN: Unread = ("skipped", "hidden (its name starts with a dot); pass it by name to read it")


def _shown(text: str) -> str:
    """A path as valid text: file-name bytes that are not UTF-8 become \\xNN escapes."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _target(path: Path, show: bool) -> str:
    return f" (-> {_shown(str(path.readlink()))})" if show else ""


def _link_problem(path: Path, show_target: bool = True) -> Unread | None:
    """Why a symbolic link cannot be read (a loop, a missing target), or None when it resolves."""
    if not path.is_symlink():
        return None
    target = _target(path, show_target)
    try:
        path.resolve(strict=True)
    except (RuntimeError, OSError) as exc:  # RuntimeError: a loop, on Python < 3.13
        if isinstance(exc, RuntimeError) or exc.errno == errno.ELOOP:
            return "failed", f"symbolic link loop{target}; fix or remove the link"
        return "failed", f"broken symbolic link{target}: its target does not exist; fix or remove the link"
    return None


def _not_regular(path: Path) -> Unread | None:
    """FIFOs, sockets and devices are not read: opening a FIFO would wait forever for a writer."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None  # reported when it is read
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    return "skipped", f"not a regular file ({kind}); only regular files are read"


def _folder_link(path: Path, show_target: bool = True) -> Unread:
    target = _target(path, show_target)
    return "skipped", f"symbolic link to a folder{target}; links to folders are not followed: pass the folder"


def _unlistable(error: OSError) -> Unread:
    return "failed", f"cannot list this folder ({error.strerror}); make it readable (chmod +rx)"


def walk_inputs(inputs: Iterable[Path], show_targets: bool = True) -> Iterable[tuple[Path, Path, Unread | None]]:
    """Every path found under ``inputs`` as (path, root, why it is not read — None for a file to read).

    Nothing found is left out silently: hidden entries, symbolic links to folders (not followed, so a link
    cannot loop or lead outside the input; pass the folder itself), links that loop or point nowhere,
    FIFOs and devices and folders that cannot be listed each come back with their reason, so the report
    accounts for every path. ``show_targets=False`` leaves out where links lead (an MCP client confined to
    its roots must not learn paths outside them).
    """
    for item in inputs:
        problem = _link_problem(item, show_targets)
        if problem is not None or not item.is_dir():
            yield item, item.parent, problem or _not_regular(item)
            continue
        errors: list[OSError] = []
        for dirpath, dirnames, filenames in os.walk(item, onerror=errors.append):
            yield from ((Path(e.filename), item, _unlistable(e)) for e in errors)
            errors.clear()
            folder, kept = Path(dirpath), []
            for name in sorted(dirnames):
                if name.startswith("."):
                    yield folder / name, item, _HIDDEN
                elif (folder / name).is_symlink():
                    yield folder / name, item, _folder_link(folder / name, show_targets)
                else:
                    kept.append(name)
            dirnames[:] = kept
            for name in sorted(filenames):
                path = folder / name
                unread = _HIDDEN if name.startswith(".") else _link_problem(path, show_targets) or _not_regular(path)
                yield path, item, unread
        yield from ((Path(e.filename), item, _unlistable(e)) for e in errors)  # after the last folder


@dataclass
class LiteratureResult:
    documents: list[Document] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    files: list[FileReport] = field(default_factory=list)

    @property
    def failed(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "failed"]


def _refused(path: Path, source: str, confine_to: Confinement) -> FileReport | None:
    """The report for a file that resolves outside the confinement (a link out of the roots, into a
    dot-folder, or in a loop); None when it may be read."""
    try:
        confine_to.check(path, source)
    except LinkLoop as exc:
        return FileReport(source=source, status="failed", reason=f"{exc}; remove or fix the link")
    except PathNotAllowed as exc:
        return FileReport(source=source, status="skipped", reason=f"not read: {exc}")
    return None


def _load_one(
    path: Path, root: Path, limits: IngestSettings, confine_to: Confinement | None = None
) -> tuple[FileReport, Document | None]:
    source = _source(path, root)
    if confine_to is not None and (refused := _refused(path, source, confine_to)) is not None:
        return refused, None
    if not path.exists() and path.is_symlink():
        reason = f"{source}: a symlink to nothing (its target does not exist); fix or remove the link"
        return FileReport(source=source, status="failed", reason=reason), None
    if not path.exists():
        shown = _shown(str(path))
        return FileReport(
            source=shown, status="failed", reason=f"{shown}: no such file or folder; check the path"
        ), None
    if reader_for(path) is None:
        return FileReport(source=source, status="skipped", reason=unsupported_reason(path)), None
    try:
        document = read_document(path, root, limits=limits)
    except LoadError as exc:
        return FileReport(source=source, status="failed", reason=str(exc)), None
    except PermissionError:
        reason = f"{path.name}: permission denied; make the file readable (chmod +r) or copy it somewhere readable"
        return FileReport(source=source, status="failed", reason=reason), None
    except OSError as exc:
        return FileReport(source=source, status="failed", reason=f"{path.name}: cannot be read ({exc.strerror})"), None
    except Exception as exc:  # a parser bug on a hostile file must not stop the batch
        reason = f"{path.name}: the {path.suffix} parser failed ({type(exc).__name__}: {exc}); re-export the file"
        return FileReport(source=source, status="failed", reason=reason), None
    notes, partial = document.metadata.get("notes", ""), "unreadable" in document.metadata
    return FileReport(source=source, status="loaded", reason=notes, partial=partial), document


def load_documents(
    inputs: Iterable[Path],
    limits: IngestSettings | None = None,
    progress: ProgressCallback | None = None,
    confine_to: Confinement | None = None,
) -> LiteratureResult:
    """Read every file under ``inputs``. With ``confine_to`` (the MCP server's roots), a file that resolves
    outside them — a symlink out of a root or into a dot-folder — is reported as skipped, never opened."""
    limits = limits or IngestSettings()
    files = list(walk_inputs(inputs, show_targets=confine_to is None))  # a client never sees where links lead
    result = LiteratureResult()
    for done, (path, root, unread) in enumerate(files, start=1):
        if unread is not None:
            report, document = FileReport(source=_source(path, root), status=unread[0], reason=unread[1]), None
        else:
            report, document = _load_one(path, root, limits, confine_to)
        result.files.append(report)
        if document is not None:
            result.documents.append(document)
        if progress is not None:
            progress(done, len(files), report)
    return result


def load_literature(
    inputs: Iterable[Path],
    chunking: ChunkSettings | None = None,
    domain: str = "general",
    *,
    ingest: IngestSettings | None = None,
    progress: ProgressCallback | None = None,
    confine_to: Confinement | None = None,
) -> LiteratureResult:
    """Load every file under ``inputs`` and chunk it; per-file failures are reported, not raised.

    ``ingest`` sets the size limits and the text column of tabular files; ``progress`` is called after each
    file; ``confine_to`` keeps every file read inside its roots (see :func:`load_documents`). A chunking
    setting that cannot work at all (e.g. the token strategy without its tokenizer) raises
    ``ValueError`` before any file is read.
    """
    from ftds.tools.ingest.chunking import chunk_document, prepare

    chunking = chunking or ChunkSettings()
    prepare(chunking)
    result = load_documents(inputs, ingest, progress, confine_to)
    loaded = [report for report in result.files if report.status == "loaded"]  # same order as documents
    for report, document in zip(loaded, result.documents, strict=True):
        chunks = chunk_document(document, chunking, domain=domain)
        report.chunks = len(chunks)
        result.chunks.extend(chunks)
    return result
