"""Issue 13 item 11: overlap never breaks the hard chunk-size limit, and chunks still reassemble exactly."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ftds.tools.config import ChunkSettings
from ftds.tools.ingest.chunking import chunk_document, reassemble
from ftds.tools.records import Document
from tests.conftest import run_cli

WORDS = st.text(alphabet="abcdefghij klm。.!?\n", min_size=0, max_size=40)


def _doc(text: str) -> Document:
    return Document(doc_id="d", source="s.md", text=text, format="markdown")


@settings(max_examples=150, deadline=None)
@given(
    parts=st.lists(WORDS, min_size=1, max_size=60),
    max_chars=st.integers(min_value=50, max_value=300),
    overlap=st.integers(min_value=0, max_value=400),
    strategy=st.sampled_from(["recursive", "heading", "legal", "fixed"]),
)
def test_whole_chunks_with_their_overlap_stay_within_max_chars(
    parts: list[str], max_chars: int, overlap: int, strategy: str
) -> None:
    text = "".join(parts).strip() + "\n"
    if not text.strip():
        return
    chunking = ChunkSettings(strategy=strategy, max_chars=max_chars, min_chars=0, overlap_chars=overlap)  # type: ignore[arg-type]
    chunks = chunk_document(_doc(text), chunking)
    assert reassemble(chunks) == text
    for chunk in chunks:
        own = len(chunk.text) - chunk.provenance.overlap_chars
        if own <= max_chars:  # a span over the limit on its own gets no lead-in at all
            assert len(chunk.text) <= max_chars, (len(chunk.text), chunk.provenance.overlap_chars)
        else:
            assert chunk.provenance.overlap_chars == 0


def test_ingest_cli_max_chars_800_overlap_100_gives_no_chunk_over_800(tmp_path: Path) -> None:
    sentence = "The controller keeps a record of every processing activity under its responsibility. "
    body = sentence * 120  # one long paragraph: sentences pack up to the limit, leaving no room unless made
    (tmp_path / "doc.md").write_text(f"# Records\n\n{body}\n", encoding="utf-8")
    done = run_cli(
        "ingest", "doc.md", "--out", "c.jsonl", "--max-chars", "800", "--overlap", "100", "--json", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    chunks = [json.loads(line) for line in (tmp_path / "c.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(chunks) > 3
    assert max(len(c["text"]) for c in chunks) <= 800
    assert any(c["provenance"]["overlap_chars"] > 0 for c in chunks)  # overlap still happens where it fits


@settings(max_examples=60, deadline=None)
@given(
    parts=st.lists(
        st.sampled_from(["word ", "数据", "安全。", "Long sentence here. ", "\n\n", "x, y; z! "]), max_size=80
    ),
    max_tokens=st.integers(min_value=16, max_value=60),
    overlap=st.integers(min_value=0, max_value=200),
)
def test_token_chunks_with_their_overlap_stay_within_max_tokens(
    parts: list[str], max_tokens: int, overlap: int
) -> None:
    from ftds.tools.ingest.cleaning import clean_text
    from tests.fakes.fake_tokenizer import FakeWordTokenizer

    text = clean_text("".join(parts))
    if not text:
        return
    tokenizer = FakeWordTokenizer()
    chunking = ChunkSettings(strategy="token", max_tokens=max_tokens, min_chars=0, overlap_chars=overlap)
    chunks = chunk_document(_doc(text), chunking, tokenizer=tokenizer)
    assert reassemble(chunks) == text
    starts = tokenizer.token_starts(text)
    for chunk in chunks:
        a, b = chunk.provenance.char_start, chunk.provenance.char_end
        whole = sum(1 for s in starts if a <= s < b)  # tokens of the chunk, as the budget counts them
        own = sum(1 for s in starts if a + chunk.provenance.overlap_chars <= s < b)
        if own <= max_tokens:
            assert whole <= max_tokens, (whole, own, chunk.provenance.overlap_chars)
