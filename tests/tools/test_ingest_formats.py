"""Every supported format, on the real documents in tests/data/corpus."""

from pathlib import Path

import pytest

from ftds.tools.config import IngestSettings
from ftds.tools.ingest import load_literature, reassemble
from ftds.tools.records import Document


def _load(path: Path, **ingest: object) -> tuple[Document, list]:
    result = load_literature([path], ingest=IngestSettings(**ingest))  # type: ignore[arg-type]
    assert [f.status for f in result.files] == ["loaded"], result.files
    document = result.documents[0]
    assert reassemble(result.chunks) == document.text
    return document, result.chunks


def test_pdf_pages_are_kept_and_running_headers_and_page_numbers_dropped(corpus: Path) -> None:
    document, chunks = _load(corpus / "docs" / "zh_quarterly-report_issue-67.pdf")
    assert len(document.page_starts) == 22
    assert "2018 年第一季度报告全文" not in document.text  # the running header on all 22 pages
    assert "第一节 重要提示" in document.text and "营业收入" in document.text
    page_numbers = {str(n) for n in range(1, 23)}
    assert not any(line.strip() in page_numbers for line in document.text.splitlines())
    assert chunks[0].provenance.page == 1 and chunks[-1].provenance.page in (21, 22)
    pages = [c.provenance.page for c in chunks]
    assert pages == sorted(pages)  # type: ignore[type-var]


def test_pdf_chunk_spanning_a_page_break_records_its_page_range(corpus: Path) -> None:
    document, chunks = _load(corpus / "docs" / "multi_page.pdf")
    assert len(document.page_starts) == 5
    assert document.title == "multi_page"
    assert "The Evolution of the Word Processor" in document.text
    ranged = [c for c in chunks if c.provenance.page_end is not None]
    assert ranged and all(c.provenance.page_end > c.provenance.page for c in ranged)  # type: ignore[operator]
    for chunk in chunks:
        assert document.page_of(chunk.provenance.char_start) == chunk.provenance.page


def test_pdf_hyphenated_line_breaks_are_joined() -> None:
    from ftds.tools.ingest.cleaning import join_pages

    text, starts = join_pages(["The infor-\nmation is here.\nCOVID-\n19 stays.", "", "Page two."])
    assert "information is here." in text and "COVID-\n19" in text
    assert starts == [0, len(text) - len("Page two.\n"), len(text) - len("Page two.\n")]


def test_docx_headings_lists_and_tables_become_markdown(corpus: Path) -> None:
    document, chunks = _load(corpus / "docs" / "word_sample.docx")
    assert "# Swimming in the lake" in document.text
    assert "- Paddle about\n- Enjoy summer warmth" in document.text
    assert "| Berries | Blueberry, Strawberry, Cranberry | 150 |" in document.text
    assert any(c.provenance.heading_path[-1:] == ["Let’s eat"] for c in chunks)


def test_docx_tables_keep_nested_and_merged_cells(corpus: Path) -> None:
    document, _ = _load(corpus / "docs" / "docx-tables.docx")
    assert "| Header Col 1 | Header Col 2 |\n|---|---|" in document.text
    assert ">b<" in document.text  # escaped markup comes out as text
    nested_row = next(line for line in document.text.splitlines() if line.startswith("| d |"))
    assert all(letter in nested_row for letter in "efgh")  # the nested table's cells are inside the cell


def test_long_legal_docx_keeps_its_outline(corpus: Path) -> None:
    document, chunks = _load(corpus / "docs" / "doj_chapter13_trustee_handbook.docx")
    assert document.text.count("\n# ") + document.text.count("\n## ") > 100
    with_path = [c for c in chunks if c.provenance.heading_path]
    assert len(with_path) > 0.9 * len(chunks)
    assert all(len(c.text) <= 1200 for c in chunks)


def test_epub_chapters_come_in_spine_order(corpus: Path) -> None:
    document, chunks = _load(corpus / "docs" / "winter-sports.epub")
    assert document.title == "Winter Sports in Switzerland"
    text = document.text
    assert 0 <= text.find("CONTENTS") < text.find("SKATING") and len(text) > 300_000
    assert len(chunks) > 100


def test_html_keeps_main_content_and_drops_navigation(corpus: Path) -> None:
    document, chunks = _load(corpus / "docs" / "limitation_period_wiki.html")
    assert document.text.startswith("# Limitation period")
    assert "A **limitation period** is the length of time after an event" in document.text
    for chrome in ("Jump to content", "Main menu", "Privacy policy", "Create account"):
        assert chrome not in document.text
    assert any(c.provenance.heading_path == ["Limitation period", "Etymology"] for c in chunks)


def test_html_without_charset_is_decoded_by_detection(corpus: Path) -> None:
    document, _ = _load(corpus / "hostile" / "gb18030_no-charset.html")
    assert "主动申报数据出境安全评估" in document.text


@pytest.mark.parametrize(
    ("encoding", "bom"), [("utf-8", b""), ("utf-16", b""), ("gb18030", b""), ("big5", b""), ("utf-8", b"\xef\xbb\xbf")]
)
def test_plain_text_in_common_encodings_is_detected(tmp_path: Path, encoding: str, bom: bytes) -> None:
    sentence = "第一條 為了保護消費者的合法權益，維護社會經濟秩序，促進社會主義市場經濟健康發展，制定本法。\n" * 3
    path = tmp_path / f"law-{encoding}.txt"
    path.write_bytes(bom + sentence.encode(encoding))
    document, _ = _load(path)
    assert document.text == sentence


def test_english_statute_markdown_loads_with_article_structure(corpus: Path) -> None:
    _, chunks = _load(corpus / "law_en" / "US_Constitution.md")
    assert any("Article" in " ".join(c.provenance.heading_path) for c in chunks)


def test_transcript_line_number_column_is_dropped(corpus: Path) -> None:
    document, _ = _load(corpus / "docs" / "scotus-transcript-p1.pdf")
    lines = document.text.splitlines()
    assert not [line for line in lines if line.strip().isdigit()]
    assert lines[1] == "IN THE SUPREME COURT OF THE UNITED STATES"
    assert "Tuesday, January 13, 2009" in document.text
