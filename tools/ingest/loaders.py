"""Read files into cleaned :class:`Document` records; one bad file never stops the others.

Every file found ends in exactly one :class:`FileReport` — loaded, skipped (unsupported type) or failed —
with a reason a person can act on.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import charset_normalizer

from ftds.tools.config import ChunkSettings
from ftds.tools.language import detect_language
from ftds.tools.records import Chunk, Document, FileReport, content_hash

TEXT_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text"}
DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024


class LoadError(ValueError):
    """A file that cannot be loaded; the message names what is wrong and what to do."""


def clean_text(text: str) -> str:
    """Normalise Unicode and whitespace without changing the content."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = re.sub(r"[\u200b\u200c\u200d\u2060\ufeff]", "", text).replace("\u00a0", " ")
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip() + "\n" if text.strip() else ""


def decode_bytes(data: bytes, path: Path) -> str:
    """Decode text in whatever common encoding it uses (UTF-8/16, GB18030, Big5 ...), detected."""
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise LoadError(f"{path.name}: looks like a binary file, not text (it contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise LoadError(f"{path.name}: not decodable as text in any common encoding; is it a binary file?")
    return str(best)


def read_document(path: Path, root: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Document:
    kind = TEXT_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise LoadError(f"{path.name}: unsupported file type {path.suffix or '(none)'}")
    size = path.stat().st_size
    if size == 0:
        raise LoadError(f"{path.name}: the file is empty (0 bytes)")
    if size > max_bytes:
        raise LoadError(f"{path.name}: {size} bytes is over the {max_bytes}-byte limit; raise it or split the file")
    text = clean_text(decode_bytes(path.read_bytes(), path))
    if not text.strip():
        raise LoadError(f"{path.name}: contains no text after cleaning")
    source = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
    title_match = re.search(r"^#\s+(.+)$", text, re.MULTILINE) if kind == "markdown" else None
    return Document(
        doc_id=content_hash(source, text),
        source=source,
        text=text,
        title=title_match.group(1).strip() if title_match else path.stem,
        language=detect_language(text[:5000]),
        format=kind,
    )


def iter_files(inputs: Iterable[Path]) -> Iterable[tuple[Path, Path]]:
    """(file, root) pairs: folders are walked recursively in a stable order."""
    for item in inputs:
        if item.is_dir():
            for dirpath, dirnames, filenames in os.walk(item):
                dirnames.sort()
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


def load_documents(inputs: Iterable[Path]) -> LiteratureResult:
    result = LiteratureResult()
    for path, root in iter_files(inputs):
        source = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        if not path.exists():
            result.files.append(
                FileReport(
                    source=str(path),
                    status="failed",
                    reason=f"{path}: no such file or folder; check the path",
                )
            )
            continue
        if path.suffix.lower() not in TEXT_SUFFIXES:
            result.files.append(
                FileReport(source=source, status="skipped", reason=f"unsupported file type {path.suffix or '(none)'}")
            )
            continue
        try:
            document = read_document(path, root)
        except LoadError as exc:
            result.files.append(FileReport(source=source, status="failed", reason=str(exc)))
            continue
        except OSError as exc:
            result.files.append(
                FileReport(source=source, status="failed", reason=f"{path.name}: cannot be read ({exc.strerror})")
            )
            continue
        result.documents.append(document)
        result.files.append(FileReport(source=source, status="loaded"))
    return result


def load_literature(
    inputs: Iterable[Path], chunking: ChunkSettings | None = None, domain: str = "general"
) -> LiteratureResult:
    """Load every file under ``inputs`` and chunk it; per-file failures are reported, not raised."""
    from ftds.tools.ingest.chunking import chunk_document

    result = load_documents(inputs)
    chunking = chunking or ChunkSettings()
    by_source = {report.source: report for report in result.files}
    for document in result.documents:
        chunks = chunk_document(document, chunking, domain=domain)
        by_source[document.source].chunks = len(chunks)
        result.chunks.extend(chunks)
    return result
