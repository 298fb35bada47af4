"""Read files into cleaned :class:`Document` records; one bad file never stops the others.

Every file found ends in exactly one :class:`FileReport` — loaded, skipped (unsupported type) or failed —
with a reason a person can act on. The file is read once, after the size check; the reader for its type
(:mod:`ftds.tools.ingest.registry`) turns it into text, pages or records; cleaning and provenance are then
the same for every format.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

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
        metadata={"notes": "; ".join(extracted.notes)} if extracted.notes else {},
    )


def _source(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name


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
    for item in inputs:
        if item.is_dir():
            for dirpath, dirnames, filenames in os.walk(item):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if not name.startswith("."):
                        yield Path(dirpath) / name, item
        else:
            yield item, item.parent


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
        return FileReport(
            source=str(path), status="failed", reason=f"{path}: no such file or folder; check the path"
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
    return FileReport(source=source, status="loaded", reason=document.metadata.get("notes", "")), document


def load_documents(
    inputs: Iterable[Path],
    limits: IngestSettings | None = None,
    progress: ProgressCallback | None = None,
    confine_to: Confinement | None = None,
) -> LiteratureResult:
    """Read every file under ``inputs``. With ``confine_to`` (the MCP server's roots), a file that resolves
    outside them — a symlink out of a root or into a dot-folder — is reported as skipped, never opened."""
    limits = limits or IngestSettings()
    files = list(iter_files(inputs))
    result = LiteratureResult()
    for done, (path, root) in enumerate(files, start=1):
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
