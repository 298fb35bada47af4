"""HTML: the main content only, as Markdown, via trafilatura (Apache-2.0).

trafilatura is made for exactly this job — dropping navigation, sidebars, footers and cookie banners while
keeping headings, lists and tables — and is well kept and permissively licensed. The
page is decoded by ftds first (its declared charset, else detected, not assumed) so a GB18030 or
Windows-1252 page without a charset declaration reads correctly. When trafilatura finds no main content
(a tiny or unusual page), the whole body is converted with markdownify instead of losing the file.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import trafilatura
from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning
from markdownify import MarkdownConverter

from ftds.tools.config import IngestSettings
from ftds.tools.ingest.base import Extracted, LoadError
from ftds.tools.ingest.encoding import declared_charset, decode_document

_CONVERTER = MarkdownConverter(heading_style="ATX", bullets="-", strip=["img", "a"])
_BOILERPLATE_TAGS = ["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "svg", "iframe"]


def html_to_markdown(html: str | bytes) -> str:
    """All visible text of an HTML fragment as Markdown (headings as #, tables as pipes), scripts dropped.

    Bytes are decoded by BeautifulSoup from the document's own declaration (EPUB chapters are XHTML)."""
    with warnings.catch_warnings():
        # EPUB chapters are XHTML; parsing them as HTML is what we want (lenient, the tree a browser builds)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(html, "lxml")
    for tag in soup(["script", "style", "noscript", "svg"]):
        tag.decompose()
    body = soup.body or soup
    markdown = _CONVERTER.convert_soup(body)  # the parsed tree, not str(body): one parse instead of two
    return re.sub(r"\n{3,}", "\n\n", markdown)


def _title(html: str) -> str | None:
    match = re.search(r"<title[^>]*>(.*?)</title>", html, re.IGNORECASE | re.DOTALL)
    return re.sub(r"\s+", " ", match.group(1)).strip() or None if match else None


def read_html(data: bytes, path: Path, limits: IngestSettings) -> Extracted:
    decoded = decode_document(data, path, declared=declared_charset(data))
    html = decoded.text
    if "<" not in html:
        raise LoadError(f"{path.name}: contains no HTML markup; rename it to .txt if it is plain text")
    text = trafilatura.extract(
        html, output_format="markdown", include_tables=True, include_comments=False, favor_recall=True
    )
    notes = [decoded.note] if decoded.note else []
    if not text or not text.strip():
        soup = BeautifulSoup(html, "lxml")
        for tag in soup(_BOILERPLATE_TAGS):
            tag.decompose()
        text = html_to_markdown(str(soup))
        notes.append("no main content block found; kept all visible text")
    return Extracted(format="html", text=text, title=_title(html), notes=notes)
