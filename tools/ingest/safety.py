"""Checks that run before a parser sees a file, so one hostile file costs a line in the report, not the run.

DOCX, EPUB and XLSX are zip archives: a zip bomb (a few KB that inflate to gigabytes) would exhaust memory
inside the parser, so the central directory's declared sizes are checked first. The declared sizes can lie,
so members are also read with a hard cap (:func:`read_member`).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from ftds.tools.config import IngestSettings
from ftds.tools.ingest.base import LoadError

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MB = 1024 * 1024


def check_size(path: Path, size: int, limits: IngestSettings) -> None:
    if size == 0:
        raise LoadError(f"{path.name}: the file is empty (0 bytes); re-export or re-download it")
    if size > limits.max_file_mb * _MB:
        raise LoadError(
            f"{path.name}: {size / _MB:.1f} MB is over the {limits.max_file_mb:g} MB limit; "
            "split the file or raise ingest.max_file_mb"
        )


def open_zip(data: bytes, path: Path, kind: str, limits: IngestSettings) -> zipfile.ZipFile:
    """Open a zip-based document after checking it is a zip at all and not a zip bomb."""
    if data.startswith(OLE2_MAGIC):
        raise LoadError(
            f"{path.name}: this {kind} is password-protected (encrypted Office files are not zips) or an old "
            "binary Office file; remove the password or save it again as a normal .docx/.xlsx"
        )
    if not data.startswith(ZIP_MAGIC):
        raise LoadError(f"{path.name}: not a valid {kind} (it is not a zip archive); is the file damaged or misnamed?")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise LoadError(f"{path.name}: damaged or truncated {kind} ({exc}); re-export the file") from None
    total = 0
    for info in archive.infolist():
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_zip_ratio and info.file_size > _MB:
            raise LoadError(
                f"{path.name}: refused as a likely zip bomb ({info.filename} inflates {ratio:.0f}x); "
                "if the file is genuine, raise ingest.max_zip_ratio"
            )
    if total > limits.max_unzipped_mb * _MB:
        raise LoadError(
            f"{path.name}: refused as a likely zip bomb (inflates to {total / _MB:.0f} MB, over the "
            f"{limits.max_unzipped_mb:g} MB limit); if the file is genuine, raise ingest.max_unzipped_mb"
        )
    return archive


def read_member(archive: zipfile.ZipFile, name: str, path: Path, limits: IngestSettings) -> bytes:
    """Read one member, stopping at the size limit even if the zip's declared sizes are false."""
    cap = int(limits.max_unzipped_mb * _MB)
    try:
        with archive.open(name) as member:
            data = member.read(cap + 1)
    except KeyError:
        raise LoadError(f"{path.name}: the archive has no {name}; is it damaged?") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise LoadError(f"{path.name}: damaged archive member {name} ({exc}); re-export the file") from None
    if len(data) > cap:
        raise LoadError(f"{path.name}: refused as a likely zip bomb ({name} inflates past the limit)")
    return data
