"""Load literature and cut it into chunks with provenance. See :func:`load_literature`."""

from ftds.tools.ingest.chunking import chunk_document
from ftds.tools.ingest.loaders import FileReport, LiteratureResult, load_documents, load_literature

__all__ = ["FileReport", "LiteratureResult", "chunk_document", "load_documents", "load_literature"]
