"""Load literature and cut it into chunks with provenance. See :func:`load_literature`.

Layout: one reader per format (pdf, docx, epub, html, tabular, text) behind :mod:`.registry`; shared
cleaning in :mod:`.cleaning`; hostile-file checks in :mod:`.safety`; chunking strategies in :mod:`.chunking`
with sentence rules in :mod:`.sentences` and the token strategy's tokenizer in :mod:`.tokenizer`.
"""

from ftds.tools.ingest.base import LoadError
from ftds.tools.ingest.chunking import chunk_document, reassemble
from ftds.tools.ingest.loaders import FileReport, LiteratureResult, ProgressCallback, load_documents, load_literature
from ftds.tools.ingest.registry import READERS

__all__ = [
    "READERS",
    "FileReport",
    "LiteratureResult",
    "LoadError",
    "ProgressCallback",
    "chunk_document",
    "load_documents",
    "load_literature",
    "reassemble",
]
