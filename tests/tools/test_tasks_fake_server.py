"""Every task type, in both languages, through the managed client against the FAKE OpenAI-compatible server:
the prompts render with the values their callers pass, the endpoint sees the JSON key it must answer, and
each function returns samples tagged with the right template version."""

import re
from importlib import resources
from pathlib import Path

import pytest

from ftds.tools.config import BuildSettings, load_settings
from ftds.tools.generation.generate import generate_qa
from ftds.tools.generation.labels import build_label_tree
from ftds.tools.generation.review import review_samples
from ftds.tools.generation.tasks import (
    distill_topic,
    generate_classification,
    generate_cot,
    generate_dialogues,
    preference_pairs,
    topic_chunk,
)
from ftds.tools.ingest import load_literature
from ftds.tools.llm import make_chat_model
from ftds.tools.records import Chunk
from tests.conftest import CORPUS, fake_llm_overrides
from tests.fakes.fake_openai_server import FakeOpenAIServer

PLACEHOLDER = re.compile(r"\$([a-z_]+)")


def _templates() -> dict[str, set[str]]:
    names = [p.name for p in resources.files("ftds.prompts").iterdir() if p.name.endswith(".md")]
    return {
        name: set(PLACEHOLDER.findall((resources.files("ftds.prompts") / name).read_text("utf-8"))) for name in names
    }


def test_every_template_exists_in_both_languages_with_the_same_placeholders() -> None:
    templates = _templates()
    stems = {name.split(".")[0] for name in templates}
    assert len(stems) == 20  # 14 generation templates (qa_verify: the answer check) + 6 evaluation ones (eval_*)
    # the answer check shows what separated best in each language: the located evidence (zh), the chunk (en);
    # answer_checks fills both
    measured_apart = {"qa_verify": {"evidence", "chunk"}}
    for stem in stems:
        zh, en = templates[f"{stem}.zh.md"], templates[f"{stem}.en.md"]
        apart = measured_apart.get(stem, set())
        assert zh - apart == en - apart and (zh ^ en) <= apart, stem


def _chunk(language: str) -> Chunk:
    if language == "zh":
        chunks = load_literature([CORPUS / "law_zh" / "数据安全法(2021-06-10).md"], domain="law").chunks
        return next(c for c in chunks if "第二十一条" in c.text)
    chunks = load_literature([CORPUS / "law_en" / "US_Constitution.md"], domain="law").chunks
    return next(c for c in chunks if "Section 8" in c.text or "Congress shall have Power" in c.text)


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_every_task_type_runs_end_to_end_against_the_fake_endpoint(language: str, tmp_path: Path) -> None:
    chunk = _chunk(language)
    build = BuildSettings(domain="law", questions_per_chunk=2)
    with FakeOpenAIServer() as fake:
        llm = make_chat_model(load_settings(llm=fake_llm_overrides(fake)).llm, tmp_path)
        qa = await generate_qa(chunk, llm, build)
        tree = (await build_label_tree([chunk.provenance.heading_path], llm, build, language=language)).tree
        assert tree is not None
        cot = await generate_cot(chunk, llm, build)
        dialogues = await generate_dialogues(chunk, llm, build)
        classified = await generate_classification(chunk, tree, llm, build)
        preference = await preference_pairs(chunk, [s.question for s in qa.samples], llm, llm, build)
        distilled = await distill_topic("data law", llm, build, tags=2, questions_per_tag=2, language=language)
        review = await review_samples(
            topic_chunk("data law", distilled.tag_paths[0]), distilled.samples[:2], llm, build, grounded=False
        )
        await llm.aclose()
    assert qa.samples and qa.samples[0].prompt_version == f"qa_generate.{language}@5"
    assert cot.samples and cot.samples[0].chain_of_thought
    assert dialogues.samples and len(dialogues.samples[0].turns or []) % 2 == 0
    assert classified.samples and classified.samples[0].label in tree.paths()
    assert len(preference.pairs) == len(qa.samples) and preference.pairs[0].rejected_answer
    assert len(distilled.samples) == 8 and not distilled.failed
    # no lexical-support check without a source: each sample reached the reviewer, unless it is circular (the
    # fake's second Chinese answer is its own next question, "这一领域的第1个要点是什么？")
    assert len(review.scored) + len(review.rejected) == 2
    assert {item.reason for item in review.rejected} <= {"precheck:answer_in_question"} and review.scored
    assert not (cot.failure or dialogues.failure or classified.failure)
