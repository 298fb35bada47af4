"""Chunking strategies: lossless, structure-aware, sentence-safe, with stable provenance."""

import itertools
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftds.tools.config import ChunkSettings
from ftds.tools.ingest import chunk_document, load_literature, reassemble
from ftds.tools.ingest.chunking import resolve_strategy
from ftds.tools.ingest.cleaning import clean_text
from ftds.tools.ingest.sentences import sentence_cuts
from ftds.tools.records import Document
from tests.fakes.fake_tokenizer import FakeWordTokenizer

STRATEGIES = ["legal", "heading", "recursive", "fixed"]


def _doc(text: str, **extra: object) -> Document:
    return Document(doc_id="d", source="d.md", text=text, format="markdown", **extra)  # type: ignore[arg-type]


def _pieces(text: str) -> list[str]:
    return [text[a:b] for a, b in itertools.pairwise([0, *sentence_cuts(text, 0, len(text)), len(text)])]


TEXT_PARTS = st.one_of(
    st.text(alphabet="abc DEF。！？；.,\n第一二条章#4.0", min_size=1, max_size=80),
    st.sampled_from(
        [
            "# 标题\n",
            "## Chapter\n",
            "第十条 内容。\n",
            "Article 3. Text.\n",
            "\n\n",
            "第二章 总则\n",
            "e.g. this. ",
            "4.0",
        ]
    ),
)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(TEXT_PARTS, max_size=40),
    st.integers(min_value=50, max_value=400),
    st.integers(min_value=0, max_value=120),
    st.sampled_from(STRATEGIES),
)
def test_chunks_minus_overlap_always_reassemble_to_the_cleaned_text(
    parts: list[str], max_chars: int, overlap: int, strategy: str
) -> None:
    text = clean_text("".join(parts))
    chunking = ChunkSettings(strategy=strategy, max_chars=max_chars, min_chars=20, overlap_chars=overlap)  # type: ignore[arg-type]
    chunks = chunk_document(_doc(text), chunking)
    assert reassemble(chunks) == text
    for chunk in chunks:
        p = chunk.provenance
        assert text[p.char_start : p.char_end] == chunk.text
        assert p.overlap_chars <= overlap and chunk.text[p.overlap_chars :].strip()
        assert len(chunk.text[p.overlap_chars :].strip()) <= max_chars  # the limit is hard
    own = [(c.provenance.char_start + c.provenance.overlap_chars, c.provenance.char_end) for c in chunks]
    assert all(b1 == a2 for (_, b1), (a2, _) in itertools.pairwise(own))


@settings(max_examples=40, deadline=None)
@given(st.lists(TEXT_PARTS, max_size=40), st.integers(min_value=16, max_value=80), st.integers(0, 60))
def test_token_strategy_is_lossless_and_within_its_token_budget(
    parts: list[str], max_tokens: int, overlap: int
) -> None:
    text = clean_text("".join(parts))
    tokenizer = FakeWordTokenizer()
    chunking = ChunkSettings(strategy="token", max_tokens=max_tokens, min_chars=0, overlap_chars=overlap)
    chunks = chunk_document(_doc(text), chunking, tokenizer=tokenizer)
    assert reassemble(chunks) == text
    for chunk in chunks:
        own = chunk.text[chunk.provenance.overlap_chars :]
        assert len(tokenizer.token_starts(own.strip())) <= max_tokens


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=60), min_size=1, max_size=12))
def test_tabular_records_are_never_merged_and_never_lost(records: list[str]) -> None:
    bodies = [clean_text(r).rstrip("\n") for r in records]
    bodies = [b for b in bodies if b]
    if not bodies:
        return
    text = "\n\n".join(bodies) + "\n"
    starts = list(itertools.accumulate([0, *[len(b) + 2 for b in bodies[:-1]]]))
    document = _doc(text, record_starts=starts, record_labels=[f"row {i}" for i in range(len(bodies))])
    chunks = chunk_document(document, ChunkSettings(max_chars=50, min_chars=40, overlap_chars=30))
    assert reassemble(chunks) == text
    assert all(c.provenance.overlap_chars == 0 for c in chunks)  # a record never borrows its neighbour's text
    for chunk in chunks:
        label = int(chunk.provenance.heading_path[0].split()[1])
        assert chunk.provenance.char_end <= (starts[label + 1] if label + 1 < len(starts) else len(text))


def test_sentences_are_not_cut_at_decimals_abbreviations_or_numbered_items() -> None:
    text = (
        "Version 4.0 of the rules applies, e.g. to Art. 3 and No. 5 of the U.S. code. "
        "Mr. J. Smith agreed. Then it ended!\n1. The first item stays whole.\n2. So does the second."
    )
    assert _pieces(text) == [
        "Version 4.0 of the rules applies, e.g. to Art. 3 and No. 5 of the U.S. code. ",
        "Mr. J. Smith agreed. ",
        "Then it ended!",
        "\n1. The first item stays whole.",
        "\n2. So does the second.",
    ]


def test_chinese_sentences_end_at_cjk_punctuation_with_closing_quotes() -> None:
    text = "他说：“合同成立。”随后签字！是否有效？应当依法认定；税率为3.5%。"
    assert _pieces(text) == ["他说：“合同成立。”", "随后签字！", "是否有效？", "应当依法认定；", "税率为3.5%。"]


def test_long_article_is_cut_only_at_sentence_ends() -> None:
    article = "第一条 " + "当事人应当遵循诚信原则，按照约定全面履行自己的义务。" * 30 + "\n"
    text = clean_text(article + "第二条 短条文。\n")
    chunks = chunk_document(_doc(text), ChunkSettings(strategy="legal", max_chars=200, min_chars=0))
    assert reassemble(chunks) == text
    assert all(c.text.rstrip().endswith("。") for c in chunks)
    assert chunks[-1].text == "第二条 短条文。\n"


def test_plain_text_statute_keeps_its_chapter_path() -> None:
    text = clean_text(
        "第一章 总则\n第一条 为了规范数据处理活动，制定本法。\n第二条 本法适用于境内。\n"
        "第二章 数据安全\n第一节 制度\n第三条 国家建立制度。\n第四条 国家保护数据。\n"
    )
    chunks = chunk_document(_doc(text), ChunkSettings(strategy="legal", max_chars=50, min_chars=0))

    def path_of(article: str) -> list[str]:
        return next(c.provenance.heading_path for c in chunks if article in c.text)

    assert path_of("第二条") == ["第一章 总则"]
    assert path_of("第三条") == ["第二章 数据安全", "第一节 制度"]
    assert all(re.match(r"第.+?[条章]", c.text) for c in chunks)  # every chunk starts at an article or chapter


def test_heading_strategy_merges_small_sections_and_splits_big_ones() -> None:
    text = clean_text(
        "# Guide\n## A\nShort a.\n## B\nShort b.\n## C\n" + "A long paragraph sentence here. " * 40 + "\n"
    )
    chunks = chunk_document(_doc(text), ChunkSettings(strategy="heading", max_chars=300, min_chars=100))
    assert chunks[0].text.startswith("# Guide") and "Short b." in chunks[0].text
    assert chunks[0].provenance.heading_path == ["Guide"]
    assert all(c.provenance.heading_path == ["Guide", "C"] for c in chunks[1:])
    assert all(len(c.text) <= 300 for c in chunks)


def test_recursive_strategy_prefers_paragraphs_then_sentences() -> None:
    paragraphs = ["First paragraph. It has two sentences.", "Second one is here.", "x" * 30 + ". Tail sentence."]
    text = clean_text("\n\n".join(paragraphs))
    chunks = chunk_document(_doc(text), ChunkSettings(strategy="recursive", max_chars=60, min_chars=0))
    assert [c.text.strip() for c in chunks][:2] == ["First paragraph. It has two sentences.", "Second one is here."]


def test_fixed_strategy_cuts_at_exact_sizes() -> None:
    text = clean_text("abcdefghij" * 30)
    chunks = chunk_document(_doc(text), ChunkSettings(strategy="fixed", max_chars=100, min_chars=0))
    assert [len(c.text) for c in chunks] == [100, 100, 101]


def test_overlap_repeats_the_end_of_the_previous_chunk_from_a_sentence_start() -> None:
    text = clean_text("One sentence here. Another sentence there. " * 10)
    chunks = chunk_document(_doc(text), ChunkSettings(strategy="recursive", max_chars=100, overlap_chars=30))
    second = chunks[1]
    lead = second.text[: second.provenance.overlap_chars]
    assert lead and chunks[0].text.endswith(lead) and lead[0].isupper()


def test_auto_is_legal_for_law_or_articles_and_heading_otherwise() -> None:
    assert resolve_strategy(_doc("text"), ChunkSettings(), "law") == "legal"
    assert resolve_strategy(_doc("第一条 a\n第二条 b\n第三条 c\n"), ChunkSettings(), "general") == "legal"
    assert resolve_strategy(_doc("# A\ntext\n"), ChunkSettings(), "general") == "heading"


def test_every_strategy_is_lossless_on_the_largest_real_statute(corpus: Path) -> None:
    path = corpus / "law_zh" / "刑法.md"
    document = load_literature([path]).documents[0]
    for strategy in STRATEGIES:
        chunks = chunk_document(document, ChunkSettings(strategy=strategy, overlap_chars=80))  # type: ignore[arg-type]
        assert reassemble(chunks) == document.text, strategy
        assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_token_strategy_counts_with_the_qwen_tokenizer(corpus: Path) -> None:
    pytest.importorskip("llama_cpp", reason="the token strategy needs the embedded extra")
    from ftds.tools.ingest.tokenizer import embedded_tokenizer
    from ftds.tools.llm.model_files import ModelFilesError
    from tests.conftest import MODEL_CACHE

    try:
        tokenizer = embedded_tokenizer(ChunkSettings().tokenizer_model, MODEL_CACHE)
    except ValueError as exc:
        if isinstance(exc.__cause__, ModelFilesError) or "not installed" in str(exc):
            pytest.skip(str(exc))
        raise
    document = load_literature([corpus / "law_zh" / "数据安全法(2021-06-10).md"]).documents[0]
    chunking = ChunkSettings(strategy="token", max_tokens=200, min_chars=0)
    chunks = chunk_document(document, chunking, tokenizer=tokenizer)
    assert reassemble(chunks) == document.text and len(chunks) > 10
    for chunk in chunks:
        tokens = len(tokenizer.token_starts(chunk.text))
        assert tokens <= 200 + 2, tokens  # +2: a cut may fall inside a merged byte-level token
    # sentences were packed, not cut mid-way: nearly every chunk ends at a sentence or line end
    assert sum(c.text.rstrip()[-1] in "。；：\n" or c.text.endswith("\n") for c in chunks) >= len(chunks) - 2


def test_token_strategy_without_a_tokenizer_fails_before_reading_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_llama(name: str, *args: object, **kwargs: object) -> object:
        if name == "llama_cpp":
            raise ImportError("no llama_cpp")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_llama)
    monkeypatch.setattr("ftds.tools.ingest.tokenizer._cache", {})
    with pytest.raises(ValueError, match=r"pip install 'ftds-agent\[embedded"):
        load_literature([tmp_path], ChunkSettings(strategy="token"))


@pytest.mark.parametrize("strategy", ["heading", "legal", "recursive"])
def test_no_chunk_ends_with_a_heading_cut_from_its_body(strategy: str, corpus: Path) -> None:
    result = load_literature(
        [corpus / "docs" / "doj_chapter13_trustee_handbook.docx", corpus / "law_en"],
        ChunkSettings(strategy=strategy),  # type: ignore[arg-type]
    )
    heading_line = re.compile(r"#{1,6} ")
    for chunk in result.chunks:
        lines = chunk.text.strip().split("\n")
        assert len(lines) == 1 or not heading_line.match(lines[-1]), chunk.text[-200:]
