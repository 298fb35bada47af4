"""DOCX with python-docx (MIT): paragraphs and tables in document order, as Markdown.

Heading styles become Markdown headings so the heading-aware chunker sees the outline; list styles become
list items; tables become Markdown tables (a nested table's text is kept inside its cell, never dropped).
The table of contents is left out: it repeats the headings with page numbers and is navigation, not content.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import docx
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from ftds.tools.config import IngestSettings
from ftds.tools.ingest.base import Extracted, LoadError
from ftds.tools.ingest.safety import open_zip

_P, _TBL = qn("w:p"), qn("w:tbl")
_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)


def _paragraph(paragraph: Paragraph, style_names: dict[str, str]) -> str | None:
    text = paragraph.text.strip()
    # ``paragraph.style`` resolves the default style on every call (most of the parse time on a long
    # document); the style id on the XML element looked up in a table built once is the same answer.
    style_id = paragraph._p.style
    style = style_names.get(style_id, style_id) if style_id else ""
    if not text or style.lower().startswith("toc"):
        return None
    heading = _HEADING_STYLE.match(style)
    if heading:
        return f"{'#' * min(int(heading.group(1)), 6)} {text}"
    if style.lower() == "title":
        return f"# {text}"
    if style.lower().startswith("list"):
        return f"{'1.' if 'number' in style.lower() else '-'} {text}"
    return text


def _cell_text(cell: _Cell) -> str:
    parts = [p.text.strip() for p in cell.paragraphs if p.text.strip()]
    for nested in cell.tables:
        parts.extend(" ; ".join(_cell_text(c) for c in row.cells) for row in nested.rows)
    return " ".join(parts).replace("|", "\\|")


def table_to_markdown(table: Table) -> str:
    rows = [[_cell_text(cell) for cell in row.cells] for row in table.rows]
    rows = [row for row in rows if any(row)]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
    lines.extend("| " + " | ".join(row) + " |" for row in rows[1:])
    return "\n".join(lines)


def _body_items(document: DocxDocument) -> Iterator[Paragraph | Table]:
    """Paragraphs and tables in document order. Same as ``iter_inner_content()``, whose one XPath union
    query takes seconds on a long document; walking the body's children is linear."""
    body = document._body
    for element in document.element.body.iterchildren():
        if element.tag == _P:
            yield Paragraph(element, body)
        elif element.tag == _TBL:
            yield Table(element, body)


def read_docx(data: bytes, path: Path, limits: IngestSettings) -> Extracted:
    open_zip(data, path, "DOCX", limits).close()
    try:
        document: DocxDocument = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many types (KeyError, ValueError, lxml errors) for bad parts
        raise LoadError(f"{path.name}: not a readable DOCX ({type(exc).__name__}: {exc}); re-save it in Word") from None
    style_names = {style.style_id: style.name or "" for style in document.styles}
    parts: list[str] = []
    previous_is_item = False
    for item in _body_items(document):
        block = _paragraph(item, style_names) if isinstance(item, Paragraph) else table_to_markdown(item)
        if not block:
            continue
        is_item = block.startswith(("- ", "1. "))
        if parts:
            parts.append("\n" if is_item and previous_is_item else "\n\n")  # a list stays one block
        parts.append(block)
        previous_is_item = is_item
    title = document.core_properties.title or None
    return Extracted(format="docx", text="".join(parts), title=title)
