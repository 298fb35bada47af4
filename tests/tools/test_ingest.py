import itertools
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ftds.tools.config import ChunkSettings
from ftds.tools.ingest import chunk_document, load_literature
from ftds.tools.ingest.loaders import clean_text
from ftds.tools.records import Document


def _doc(text: str) -> Document:
    return Document(doc_id="d", source="d.md", text=text, format="markdown")


ARTICLE = re.compile(r"^第[一二三四五六七八九十百千零]+条", re.MULTILINE)
HEADING = re.compile(r"^#{1,6} ", re.MULTILINE)


def test_real_statutes_chunk_losslessly_on_article_boundaries(corpus: Path) -> None:
    max_chars = ChunkSettings().max_chars
    result = load_literature([corpus / "law_zh"], domain="law")
    assert {f.status for f in result.files} == {"loaded"}
    for document in result.documents:
        text = document.text
        chunks = [c for c in result.chunks if c.doc_id == document.doc_id]
        assert "".join(c.text for c in chunks).strip() == text.strip()
        units = sorted({m.start() for m in ARTICLE.finditer(text)} | {m.start() for m in HEADING.finditer(text)})
        for chunk in chunks:
            assert text[chunk.provenance.char_start : chunk.provenance.char_end] == chunk.text
            start = chunk.provenance.char_start
            if start == 0 or start in units:
                continue
            # a cut inside an article is allowed only when that article alone exceeds the limit
            before = max(u for u in units if u < start)
            after = min((u for u in units if u > start), default=len(text))
            assert after - before > max_chars, f"{document.source}: cut at {start} inside a short article"


def test_heading_path_is_recorded(law_file: Path) -> None:
    result = load_literature([law_file], domain="law")
    paths = [c.provenance.heading_path for c in result.chunks]
    assert ["中华人民共和国数据安全法", "第一章 总 则"] in paths


def test_chunk_ids_are_stable_across_loads(law_file: Path) -> None:
    first = [c.chunk_id for c in load_literature([law_file], domain="law").chunks]
    second = [c.chunk_id for c in load_literature([law_file], domain="law").chunks]
    assert first == second and len(set(first)) == len(first)


def test_bad_files_are_reported_and_the_rest_load(tmp_path: Path, law_file: Path) -> None:
    (tmp_path / "empty.md").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02PNG\x00" * 100)
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "good.md").write_text(law_file.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "gbk.txt").write_bytes(
        "第一条 为了保护消费者的合法权益，维护社会经济秩序，制定本法。".encode("gb18030")
    )
    result = load_literature([tmp_path], domain="law")
    by_name = {f.source: f for f in result.files}
    assert by_name["empty.md"].status == "failed" and "empty" in by_name["empty.md"].reason
    assert by_name["binary.txt"].status == "failed" and "binary" in by_name["binary.txt"].reason
    assert by_name["image.png"].status == "skipped"
    assert by_name["good.md"].status == "loaded" and by_name["good.md"].chunks > 3
    assert by_name["gbk.txt"].status == "loaded"
    gbk = next(d for d in result.documents if d.source == "gbk.txt")
    assert "消费者的合法权益" in gbk.text


def test_missing_input_is_a_failure_not_a_crash(tmp_path: Path) -> None:
    result = load_literature([tmp_path / "nope.md"])
    assert result.files[0].status == "failed" and "no such file" in result.files[0].reason


def test_decimals_and_numbered_items_are_not_cut() -> None:
    text = "Version 4.0 of the rules applies. " * 40 + "Section 1.2.3 covers it. " * 40
    chunks = chunk_document(_doc(clean_text(text)), ChunkSettings(max_chars=200, min_chars=0), domain="general")
    for chunk in chunks:
        assert not chunk.text.startswith("0 of") and not chunk.text.startswith("2.3")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet="abc def。！？.\n第一二条#", min_size=1, max_size=80),
            st.sampled_from(["# 标题\n", "## Chapter\n", "第十条 内容。\n", "Article 3. Text.\n", "\n\n"]),
        ),
        max_size=40,
    ),
    st.integers(min_value=50, max_value=400),
)
def test_chunks_always_reassemble_to_the_text(parts: list[str], max_chars: int) -> None:
    text = clean_text("".join(parts))
    for domain in ("law", "general"):
        chunks = chunk_document(_doc(text), ChunkSettings(max_chars=max_chars, min_chars=20), domain=domain)
        assert re.sub(r"\s", "", "".join(c.text for c in chunks)) == re.sub(r"\s", "", text)
        spans = [(c.provenance.char_start, c.provenance.char_end) for c in chunks]
        assert spans == sorted(spans)
        assert all(a < b for a, b in spans)
        assert all(b1 <= a2 for (_, b1), (a2, _) in itertools.pairwise(spans))
