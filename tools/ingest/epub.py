"""EPUB: chapters in spine (reading) order, each XHTML file converted to Markdown.

EbookLib, the usual EPUB library, is AGPL, so ftds reads the container directly: an EPUB is a zip whose
META-INF/container.xml names the package file (OPF), whose <spine> lists the chapters in reading order.
That is three lookups in the published format (OCF/OPF), done with lxml with entity resolution and network
access off, after the zip-bomb check.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from lxml import etree

from ftds.tools.config import IngestSettings
from ftds.tools.ingest.base import Extracted, LoadError
from ftds.tools.ingest.html import html_to_markdown
from ftds.tools.ingest.safety import open_zip, read_member

_NS = {
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)


def _xml(data: bytes, path: Path, name: str) -> etree._Element:
    root = etree.fromstring(data, _PARSER)
    if root is None:
        raise LoadError(f"{path.name}: {name} is not valid XML; the EPUB is damaged")
    return root


def read_epub(data: bytes, path: Path, limits: IngestSettings) -> Extracted:
    archive = open_zip(data, path, "EPUB", limits)
    with archive:
        container = _xml(read_member(archive, "META-INF/container.xml", path, limits), path, "container.xml")
        opf_path = container.xpath("string(//c:rootfile/@full-path)", namespaces=_NS)
        if not opf_path:
            raise LoadError(f"{path.name}: container.xml names no package file; the EPUB is damaged")
        opf = _xml(read_member(archive, str(opf_path), path, limits), path, str(opf_path))
        base = posixpath.dirname(str(opf_path))
        manifest = {
            item.get("id"): (item.get("href"), item.get("media-type", ""))
            for item in opf.xpath("//opf:manifest/opf:item", namespaces=_NS)
        }
        chapters: list[str] = []
        for ref in opf.xpath("//opf:spine/opf:itemref/@idref", namespaces=_NS):
            href, media = manifest.get(ref, (None, ""))
            if not href or "html" not in media:
                continue
            member = posixpath.normpath(posixpath.join(base, href.split("#")[0]))
            markdown = html_to_markdown(read_member(archive, member, path, limits))
            if markdown.strip():
                chapters.append(markdown.strip())
        title = opf.xpath("string(//dc:title)", namespaces=_NS).strip() or None
    if not chapters:
        raise LoadError(f"{path.name}: the EPUB spine lists no readable chapters; is it damaged or DRM-protected?")
    return Extracted(format="epub", text="\n\n".join(chapters), title=title)
