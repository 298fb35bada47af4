"""No leakage by construction: an evaluation set and a training set built from the same documents (through the
fake OpenAI-compatible server), audited; no kept item is within the near-duplicate threshold of any training
sample, measured here with an independent exact Jaccard over character n-grams."""

import re
import unicodedata
from pathlib import Path

import numpy as np

from ftds.tools.config import load_settings
from ftds.tools.evaluation.audit import audit_eval_against_training, partition_chunks
from ftds.tools.evaluation.build import load_training_records
from ftds.tools.evaluation.generate import generate_eval_items
from ftds.tools.evaluation.items import EvalItem, TrueFalseItem, item_text
from ftds.tools.generation.generate import generate_qa
from ftds.tools.ingest import load_literature
from ftds.tools.llm import make_chat_model
from ftds.tools.records import Sample
from tests.conftest import CORPUS, fake_llm_overrides
from tests.fakes.fake_openai_server import FakeOpenAIServer

LAW = CORPUS / "law_zh" / "数据安全法(2021-06-10).md"


def grams(text: str) -> set[str]:
    """Character n-grams (3 for Chinese, 5 otherwise) of width/case-folded text, written out independently of
    tools/dataset/near_dup.py so the test does not grade the audit with the audit's own code."""
    clean = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()
    cjk = len(re.findall(r"[\u4e00-\u9fff]", clean[:400])) >= 0.3 * len(clean[:400])
    n = 3 if cjk else 5
    return {clean[i : i + n] for i in range(max(1, len(clean) - n + 1))}


def jaccard(a: str, b: str) -> float:
    left, right = grams(a), grams(b)
    return len(left & right) / len(left | right)


async def build_both(server: FakeOpenAIServer) -> tuple[list[EvalItem], list[Sample]]:
    settings = load_settings(llm=fake_llm_overrides(server))
    llm = make_chat_model(settings.llm, settings.cache_dir)
    try:
        chunks = load_literature([LAW], settings.chunking, "law").chunks
        training: list[Sample] = []
        items: list[EvalItem] = []
        for chunk in chunks:
            training += (await generate_qa(chunk, llm, settings.build, count=4)).samples
            items += (await generate_eval_items(chunk, llm, settings.build))[0]
    finally:
        await llm.aclose()
    return items, training


def leaked_copy(item: EvalItem, index: int) -> Sample:
    """A training sample that is a light rewording of an evaluation item (what a careless build produces)."""
    base = Sample.model_validate(
        {
            "sample_id": f"leak{index}",
            "question": item.question.rstrip("？?。") + "？",
            "answer": item_text(item).split("\n", 1)[-1],
            "domain": "law",
            "provenance": item.provenance.model_dump(),
            "model": "fake",
            "prompt_version": "v",
        }
    )
    return base


async def test_the_audit_leaves_no_item_within_the_threshold_of_any_training_sample(
    fake_server: FakeOpenAIServer,
) -> None:
    items, training = await build_both(fake_server)
    assert len(items) >= 20 and len(training) >= 8
    leaks = [leaked_copy(item, n) for n, item in enumerate(items[::6])]
    records = [*training, *leaks]
    settings = load_settings().dedupe
    kept, report = audit_eval_against_training(items, records, settings)

    threshold = settings.leakage_threshold
    for item in kept:
        for sample in records:
            text_similarity = jaccard(item_text(item), f"{sample.question}\n{sample.answer}")
            question_similarity = jaccard(item.question, sample.question)
            assert text_similarity < threshold, (item.item_id, sample.sample_id, text_similarity)
            assert question_similarity < threshold, (item.item_id, sample.sample_id, question_similarity)

    excluded = {e.item_id: e for e in report.excluded}
    assert {i.item_id for i in items[::6]} <= set(excluded), "every planted leak must be caught"
    genuine = set(excluded) - {i.item_id for i in items[::6]}
    assert genuine, "the fake training set quotes the same sentences: some items are near-copies of it"
    for exclusion in excluded.values():
        assert exclusion.reason == "eval:leak_near_duplicate" and exclusion.similarity is not None
        assert exclusion.similarity >= threshold and exclusion.training_id is not None
    assert report.items_kept == len(kept) == len(items) - len(excluded)
    assert report.training_records == len(records) == report.training_with_provenance


async def test_section_holdout_leaves_out_whole_sections_the_training_data_used(
    fake_server: FakeOpenAIServer,
) -> None:
    items, training = await build_both(fake_server)
    chapter_one = [s for s in training if s.provenance.heading_path[-1].startswith("第一章")]
    kept, report = audit_eval_against_training(items, chapter_one, holdout="section")
    dropped = {e.item_id for e in report.excluded if e.reason == "eval:holdout_section"}
    assert dropped == {i.item_id for i in items if i.provenance.heading_path[-1].startswith("第一章")}
    assert kept and all(not i.provenance.heading_path[-1].startswith("第一章") for i in kept)


async def test_plain_training_records_are_audited_but_named_as_unfit_for_holdout(
    fake_server: FakeOpenAIServer,
) -> None:
    items, _ = await build_both(fake_server)
    statement = next(i for i in items if isinstance(i, TrueFalseItem))
    alpaca = [{"instruction": statement.question, "input": "", "output": "正确" if statement.answer else "错误"}]
    _, report = audit_eval_against_training(items, alpaca, holdout="document")
    assert statement.item_id in {e.item_id for e in report.excluded}
    assert report.notes and "no provenance" in report.notes[0]


class FakeEmbedder:
    """FAKE embedder: one-hot by the first character, so items and samples sharing it 'mean the same'."""

    name = "fake-first-char"

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), 256), dtype=np.float32)
        for row, text in enumerate(texts):
            vectors[row, ord(text[0]) % 256] = 1.0
        return vectors


def test_the_semantic_audit_excludes_items_whose_meaning_matches_a_training_sample() -> None:
    from tests.tools.test_evaluation_items import common

    item = TrueFalseItem(**common("true_false"), question="国家建立数据分类分级保护制度。", answer=True)
    other = TrueFalseItem(**{**common("true_false"), "item_id": "other"}, question="任何个人都可以举报。", answer=True)
    sample = {"instruction": "国家对数据实行什么制度？", "output": "分类分级保护。"}
    kept, report = audit_eval_against_training([item, other], [sample], semantic=True, embedder=FakeEmbedder())
    assert [i.item_id for i in kept] == ["other"]
    assert report.excluded[0].reason == "eval:leak_semantic_duplicate" and report.embedder == "fake-first-char"


def test_training_records_come_from_a_build_folder_or_a_dataset_file(tmp_path: Path) -> None:
    from tests.tools.test_evaluation_items import chunk

    sample = Sample(
        sample_id="s1",
        question="q？",
        answer="a",
        domain="law",
        provenance=chunk().provenance,
        model="m",
        prompt_version="v",
    )
    (tmp_path / "run" / "provenance").mkdir(parents=True)
    (tmp_path / "run" / "provenance" / "train.jsonl").write_text(sample.model_dump_json() + "\n", encoding="utf-8")
    (tmp_path / "alpaca.json").write_text('[{"instruction": "q", "output": "a"}]', encoding="utf-8")
    records = load_training_records([tmp_path / "run", tmp_path / "alpaca.json"])
    assert len(records) == 2 and records[0]["sample_id"] == "s1"


def test_partition_chunks_holds_whole_sections_out_of_training() -> None:
    settings = load_settings()
    chunks = load_literature([LAW], settings.chunking, "law").chunks
    eval_chunks, train_chunks = partition_chunks(chunks, 0.34, "section", seed=1)
    assert eval_chunks and train_chunks and len(eval_chunks) + len(train_chunks) == len(chunks)
    held = {tuple(c.provenance.heading_path) for c in eval_chunks}
    assert not held & {tuple(c.provenance.heading_path) for c in train_chunks}
