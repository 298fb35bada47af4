"""PDF text layer with pypdf (BSD-3): one string per page, so every chunk keeps its page numbers.

PyMuPDF is faster but AGPL, which ftds cannot ship. pypdf is pure Python and well kept. A PDF that is
encrypted, damaged or only scanned images fails with a message that says which, and what to do.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pypdf
from pypdf.errors import FileNotDecryptedError, PdfReadError

from ftds.tools.config import IngestSettings
from ftds.tools.ingest.base import Extracted, LoadError

# pypdf logs every recoverable defect ("Ignoring wrong pointing object ...") as a warning; a damaged file
# that still yields text is fine for us, and an unrecoverable one raises and is reported per file.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def read_pdf(data: bytes, path: Path, limits: IngestSettings) -> Extracted:
    if b"%PDF" not in data[:1024]:
        raise LoadError(f"{path.name}: not a PDF (no %PDF header); is the file misnamed or damaged?")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError(
                f"{path.name}: the PDF is encrypted with a password; decrypt it first (e.g. qpdf --decrypt) "
                "and load the decrypted copy"
            )
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except LoadError:
        raise
    except FileNotDecryptedError:
        raise LoadError(f"{path.name}: the PDF is encrypted; decrypt it first (e.g. qpdf --decrypt)") from None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise LoadError(
            f"{path.name}: damaged or truncated PDF ({type(exc).__name__}: {exc}); repair it (e.g. qpdf or "
            "Ghostscript) or re-export it"
        ) from None
    if not pages:
        raise LoadError(f"{path.name}: the PDF has no pages; re-export it")
    chars = sum(len("".join(page.split())) for page in pages)
    if chars < limits.min_chars_per_page * len(pages):
        raise LoadError(
            f"{path.name}: no usable text layer ({chars} characters on {len(pages)} page(s)); it is probably "
            "a scanned image and needs OCR (e.g. ocrmypdf) before loading"
        )
    title = str(title).strip() if title else ""
    # producers often store a file name ("10811.exe", "report.doc") as the title: that is no title
    usable = bool(title) and not re.search(r"\.\w{2,4}$", title) and "untitled" not in title.lower()
    return Extracted(format="pdf", pages=pages, title=title if usable else None)
