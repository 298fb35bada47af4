"""Every template and task type with the SCRIPTED fake model, on a real law chunk."""

import json
from importlib import resources
from pathlib import Path

import pytest

from ftds.tools.config import BuildSettings, load_settings
from ftds.tools.dataset.export import task_record
from ftds.tools.formats import FormatError
from ftds.tools.generation.examples import ExamplesError, FewShotExample, load_examples
from ftds.tools.generation.generate import generate_qa
from ftds.tools.generation.labels import LabelTree, build_label_tree
from ftds.tools.generation.review import critique_pairs, looks_like_question, review_samples
from ftds.tools.generation.revise import revise_samples
from ftds.tools.generation.tasks import (
    distill_topic,
    generate_classification,
    generate_cot,
    generate_dialogues,
    preference_pairs,
    reward_records,
    topic_chunk,
)
from ftds.tools.ingest import load_literature
from ftds.tools.records import Chunk, Provenance
from tests.fakes.scripted_chat import ScriptedChatModel
from tests.flow_helpers import process_chunk

ART21 = "国家建立数据分类分级保护制度，根据数据在经济社会发展中的重要程度进行分类分级保护。"
JUDGED = load_settings(build={"judge": "always"})  # the scripted reviewer plays the rubric judge too


def _point(i: int) -> str:
    """A real question about article 21 (the review's key-term check rejects questions the answer is not about)."""
    return f"数据分类分级保护制度的第{i + 1}个要点是什么？"


TREE = LabelTree.model_validate(
    {
        "labels": [
            {"name": "数据安全制度", "children": [{"name": "分类分级"}, {"name": "风险评估"}]},
            {"name": "法律责任"},
        ]
    }
)


@pytest.fixture
def chunk(law_file: Path) -> Chunk:
    chunks = load_literature([law_file], domain="law").chunks
    return next(c for c in chunks if "第二十一条" in c.text)


def _json(**data: object) -> str:
    return json.dumps(data, ensure_ascii=False)


def _review(*rows: tuple[int, str] | int, label: str = "") -> str:
    reviews = []
    for index, row in enumerate(rows, 1):
        score, feedback = row if isinstance(row, tuple) else (row, "")
        reviews.append(
            {
                "index": index,
                "grounded": score,
                "question": score,
                "answer": score,
                "language": score,
                "rationale": "r",
                "feedback": feedback,
                "label": label,
            }
        )
    return _json(reviews=reviews)


async def test_reviewer_feedback_is_sent_back_and_the_revised_sample_is_accepted(chunk: Chunk) -> None:
    generator = ScriptedChatModel(
        [
            _json(pairs=[{"question": "国家对数据实行什么保护制度？", "answer": "国家对数据实行分类分级保护。"}]),
            _json(
                revised=[{"index": 1, "question": "国家对数据实行什么保护制度？", "answer": "依据第二十一条，" + ART21}]
            ),
        ]
    )
    reviewer = ScriptedChatModel([_review((3, "写明所依据的条文。")), _review(5)])
    result = await process_chunk(chunk, generator, reviewer, JUDGED)
    assert [s.answer for s in result.accepted] == ["依据第二十一条，" + ART21]
    assert result.accepted[0].revision_rounds == 1
    assert result.rejected == [] and result.failed == []
    revise_prompt = generator.history[1]["messages"][1]["content"]
    assert "写明所依据的条文。" in revise_prompt and "国家对数据实行分类分级保护。" in revise_prompt
    # per review round: the round-trip call and the judge's call
    assert result.generator_usage.calls == 2 and result.reviewer_usage.calls == 4


async def test_a_sample_still_needing_revision_after_the_last_round_is_rejected_with_the_feedback(
    chunk: Chunk,
) -> None:
    generator = ScriptedChatModel([_json(pairs=[{"question": "国家对数据实行什么保护制度？", "answer": ART21}])])
    reviewer = ScriptedChatModel([_review((3, "补充分级的依据。"))])
    settings = load_settings(build={"max_revision_rounds": 0, "judge": "always"})
    result = await process_chunk(chunk, generator, reviewer, settings)
    assert result.accepted == []
    assert [r.reason for r in result.rejected] == ["review:needs_revision"]
    assert "补充分级的依据。" in result.rejected[0].detail


async def test_a_heading_for_a_question_is_rewritten_from_the_prechecks_feedback_and_then_reviewed(
    chunk: Chunk,
) -> None:
    # the 0.5B/1.5B habit: a heading where the question belongs, with a grounded answer
    generator = ScriptedChatModel(
        [
            _json(pairs=[{"question": "数据安全制度第二十一条", "answer": ART21}]),
            _json(questions=[{"index": 1, "question": "国家对数据实行什么保护制度？"}]),
        ]
    )
    reviewer = ScriptedChatModel([_review(5)])
    result = await process_chunk(chunk, generator, reviewer, JUDGED)
    assert [(s.question, s.answer) for s in result.accepted] == [("国家对数据实行什么保护制度？", ART21)]
    assert result.accepted[0].revision_rounds == 1 and result.rejected == [] and result.failed == []
    # the narrow question-form call: the statement and its answer, no source text
    ask_prompt = generator.history[1]["messages"][1]["content"]
    assert "数据安全制度第二十一条" in ask_prompt and "不是问题" in ask_prompt and "资料：" not in ask_prompt
    assert len(reviewer.history) == 1  # the heading itself was never sent to the reviewer


async def test_a_heading_the_rewrites_do_not_mend_is_rejected_with_the_prechecks_reason(chunk: Chunk) -> None:
    heading = _json(pairs=[{"question": "数据安全制度第二十一条", "answer": ART21}])
    still = _json(questions=[{"index": 1, "question": "第二十一条 数据分类分级"}])
    generator = ScriptedChatModel([heading, still])
    result = await process_chunk(
        chunk, generator, ScriptedChatModel([]), load_settings(build={"max_revision_rounds": 1})
    )
    assert result.accepted == [] and result.failed == [] and result.generated == 1
    assert [r.reason for r in result.rejected] == ["precheck:not_a_question"]
    assert result.rejected[0].detail == "after 1 revision(s): 第二十一条 数据分类分级"


async def test_question_form_and_reviewer_feedback_are_revised_in_two_concurrent_calls(chunk: Chunk) -> None:
    generated = await generate_qa(
        chunk,
        ScriptedChatModel(
            [_json(pairs=[{"question": "数据分类分级", "answer": ART21}, {"question": "什么制度？", "answer": ART21}])]
        ),
    )
    heading, vague = generated.samples
    review = await review_samples(chunk, [heading], ScriptedChatModel([]))

    def reply(messages: list[dict[str, str]]) -> str:
        if "不是问题" in messages[1]["content"]:
            return _json(questions=[{"index": 1, "question": "数据如何分类分级？"}])
        return _json(revised=[{"index": 1, "question": "国家对数据实行什么制度？", "answer": ART21}])

    model = ScriptedChatModel([reply, reply])
    items = [(heading, review.to_revise[heading.sample_id]), (vague, "问题太笼统")]
    revised = await revise_samples(chunk, items, model)
    assert {s.sample_id: s.question for s in revised.samples} == {
        vague.sample_id: "国家对数据实行什么制度？",
        heading.sample_id: "数据如何分类分级？",
    }
    assert revised.failed == [] and revised.usage.calls == 2
    assert revised.prompt_version == "qa_revise.zh@1+qa_question_form.zh@1"


async def test_low_scores_without_feedback_reject_and_middling_scores_with_feedback_revise(chunk: Chunk) -> None:
    generated = await generate_qa(
        chunk,
        ScriptedChatModel([_json(pairs=[{"question": _point(i), "answer": ART21} for i in range(3)])]),
    )
    reviewer = ScriptedChatModel([_review(5, (3, "改写问题"), (1, "全部重写"))])
    review = await review_samples(chunk, generated.samples, reviewer)
    decisions = [review.scored[s.sample_id].decision for s in generated.samples]
    assert decisions == ["accept", "revise", "reject"]
    assert review.to_revise[generated.samples[1].sample_id].feedback == "改写问题"


async def test_revision_that_leaves_a_pair_out_records_a_failure(chunk: Chunk) -> None:
    generated = await generate_qa(
        chunk, ScriptedChatModel([_json(pairs=[{"question": _point(i), "answer": ART21} for i in range(2)])])
    )
    review = await review_samples(chunk, generated.samples, ScriptedChatModel([_review((3, "a"), (3, "b"))]))
    items = [(generated.samples[0], review.to_revise[generated.samples[0].sample_id]), (generated.samples[1], "b")]
    model = ScriptedChatModel([_json(revised=[{"index": 2, "question": "新问题是什么？", "answer": ART21}])])
    revised = await revise_samples(chunk, items, model)
    assert [s.sample_id for s in revised.samples] == [generated.samples[1].sample_id]
    assert [f.reason for f in revised.failed] == ["revision:missing_pair"]
    assert revised.samples[0].prompt_version == "qa_generate.zh@5"  # the sample keeps its origin
    assert "Feedback: a" in model.history[0]["messages"][1]["content"]  # from the verdict
    assert "Feedback: b" in model.history[0]["messages"][1]["content"]  # given as plain text


async def test_cot_takes_the_models_think_block_when_one_item_comes_back(chunk: Chunk) -> None:
    item = {
        "question": "某公司处理核心数据应适用何种保护？",
        "steps": ["第二十一条规定分类分级。", "核心数据更严格。"],
        "answer": ART21,
    }
    model = ScriptedChatModel([f"<think>先找第二十一条。</think>```json\n{_json(items=[item])}\n```"])
    result = await generate_cot(chunk, model, count=1)
    sample = result.samples[0]
    assert sample.task == "cot" and sample.reasoning == "先找第二十一条。"
    assert sample.chain_of_thought == item["steps"]
    assert sample.prompt_version == "cot_generate.zh@1"
    assert task_record(sample)["chain_of_thought"] == item["steps"]


async def test_cot_synthesizes_reasoning_from_steps_when_the_model_gives_none(chunk: Chunk) -> None:
    items = [{"question": f"情形{i}应如何处理？", "steps": ["第一步", "第二步"], "answer": ART21} for i in range(2)]
    result = await generate_cot(chunk, ScriptedChatModel([_json(items=items)]), count=2)
    assert [s.reasoning for s in result.samples] == ["第一步\n第二步"] * 2


async def test_dialogues_keep_alternating_turns_and_malformed_ones_are_recorded(chunk: Chunk) -> None:
    good = [
        {"role": "user", "content": "数据要分类分级吗？"},
        {"role": "assistant", "content": ART21},
        {"role": "user", "content": "由谁确定重要数据目录？"},
        {"role": "assistant", "content": "国家数据安全工作协调机制统筹协调有关部门制定重要数据目录。"},
    ]
    bad = [{"role": "assistant", "content": "你好"}, {"role": "user", "content": "问"}]
    model = ScriptedChatModel([_json(dialogues=[{"turns": good}, {"turns": bad}])])
    result = await generate_dialogues(chunk, model, count=2, turns=2)
    assert len(result.samples) == 1 and result.samples[0].turns == good
    assert [f.reason for f in result.failed] == ["dialogue:bad_turns"]
    assert task_record(result.samples[0]) == {"id": result.samples[0].sample_id, "dialogue": good}
    assert "2 轮用户提问" in model.history[0]["messages"][1]["content"]


async def test_classification_checks_quotes_against_the_source_and_labels_against_the_tree(chunk: Chunk) -> None:
    records = [
        {"text": ART21, "label": "分类分级"},
        {"text": "这是一段资料里根本没有的文字内容。", "label": "分类分级"},
        {"text": ART21, "label": "刑事责任"},
    ]
    result = await generate_classification(chunk, TREE, ScriptedChatModel([_json(records=records)]), count=3)
    assert [s.label for s in result.samples] == ["数据安全制度/分类分级"]
    assert task_record(result.samples[0]) == {
        "id": result.samples[0].sample_id,
        "text": ART21,
        "label": "数据安全制度/分类分级",
    }
    assert sorted(f.reason for f in result.failed) == [
        "classification:label_not_in_tree",
        "classification:text_not_in_source",
    ]


async def test_label_tree_is_built_from_outlines_and_unknown_labels_are_never_written(chunk: Chunk) -> None:
    tree_reply = _json(labels=[{"name": "数据安全制度", "children": [{"name": "分类分级"}]}, {"name": "法律责任"}])
    tree_model = ScriptedChatModel([tree_reply])
    built = await build_label_tree([chunk.provenance.heading_path, ["数据安全法", "第六章 法律责任"]], tree_model)
    assert built.tree is not None and built.tree.paths() == ["数据安全制度", "数据安全制度/分类分级", "法律责任"]
    assert "第六章 法律责任" in tree_model.history[0]["messages"][1]["content"]
    assert built.tree.resolve("分类分级") == "数据安全制度/分类分级" and built.tree.resolve("税法") is None


async def test_label_tree_without_any_outline_asks_for_a_user_tree() -> None:
    built = await build_label_tree([[], []], ScriptedChatModel([]))
    assert built.tree is None and built.failure is not None and "label tree file" in built.failure.detail


def test_a_user_label_tree_loads_from_a_plain_yaml_mapping(tmp_path: Path) -> None:
    path = tmp_path / "labels.yaml"
    path.write_text("合同:\n  - 订立\n  - 效力\n侵权: []\n", encoding="utf-8")
    assert LabelTree.load(path).paths() == ["合同", "合同/订立", "合同/效力", "侵权"]


async def test_the_review_call_labels_samples_too_so_labels_cost_no_extra_call(chunk: Chunk) -> None:
    generator = ScriptedChatModel([_json(pairs=[{"question": "国家对数据实行什么保护制度？", "answer": ART21}])])
    reviewer = ScriptedChatModel([_review(5, label="数据安全制度/分类分级")])
    result = await process_chunk(chunk, generator, reviewer, JUDGED, labels=TREE)
    assert result.accepted[0].label == "数据安全制度/分类分级"
    assert "数据安全制度/风险评估" in reviewer.history[0]["messages"][1]["content"]
    assert len(reviewer.history) == 1


async def test_distillation_goes_topic_to_tags_to_questions_to_answers() -> None:
    replies = {
        "tags": _json(tags=[{"name": "合同订立", "subtopics": ["要约"]}, {"name": "合同效力", "subtopics": []}]),
        "questions": _json(questions=["要约在什么情况下生效？", "要约可以撤回吗？"]),
        "answers": _json(
            answers=[
                {"index": 1, "answer": "要约到达受要约人时生效。"},
                {"index": 2, "answer": "可以，撤回通知应先于要约到达。"},
            ]
        ),
    }

    def reply(messages: list) -> str:
        prompt = messages[-1]["content"]
        key = next(k for k in ("answers", "questions", "tags") if f'{{"{k}": [' in prompt)
        return replies[key]

    model = ScriptedChatModel([reply] * 5)
    result = await distill_topic("合同法", model, BuildSettings(domain="law"), tags=2, questions_per_tag=2)
    assert result.tag_paths == [["合同订立", "要约"], ["合同效力"]]
    assert len(result.samples) == 4 and result.failed == []
    assert {s.label for s in result.samples} == {"合同订立/要约", "合同效力"}
    assert result.samples[0].provenance.source == "topic:合同法"
    assert result.usage.calls == 5
    # topic samples are reviewed without a source document: the lexical support check is skipped
    review = await review_samples(
        topic_chunk("合同法", ["合同效力"]), result.samples[:1], ScriptedChatModel([_review(5)]), grounded=False
    )
    assert len(review.verdicts) == 1


async def test_preference_pairs_choose_the_better_scored_candidate_and_emit_reward_records(chunk: Chunk) -> None:
    good = _json(answers=[{"index": 1, "answer": ART21}])
    weak = _json(answers=[{"index": 1, "answer": "国家建立数据分类制度，保护数据。"}])
    generator = ScriptedChatModel([good, weak])
    reviewer = ScriptedChatModel([_review(5, 2)])
    result = await preference_pairs(chunk, ["国家对数据实行什么保护制度？"], generator, reviewer)
    assert len(result.pairs) == 1
    pair = result.pairs[0]
    assert pair.answer == ART21 and pair.rejected_answer == "国家建立数据分类制度，保护数据。"
    assert task_record(pair)["chosen"] == [{"role": "assistant", "content": ART21}]  # TRL conversational form
    assert sorted(r.reward_score for r in result.rewards) == [1.25, 5.0]
    temperatures = [h["messages"] for h in generator.history]
    assert len(temperatures) == 2 and len(reviewer.history) == 1


async def test_preference_with_equal_scores_is_a_recorded_tie(chunk: Chunk) -> None:
    generator = ScriptedChatModel(
        [
            _json(answers=[{"index": 1, "answer": ART21}]),
            _json(answers=[{"index": 1, "answer": ART21 + "此制度很重要。"}]),
        ]
    )
    result = await preference_pairs(
        chunk, ["国家对数据实行什么保护制度？"], generator, ScriptedChatModel([_review(4, 4)])
    )
    assert result.pairs == [] and [r.reason for r in result.rejected] == ["preference:tie"]


async def test_reward_records_score_reviewed_samples_from_zero_to_five(chunk: Chunk) -> None:
    generator = ScriptedChatModel([_json(pairs=[{"question": "国家对数据实行什么保护制度？", "answer": ART21}])])
    settings = load_settings(build={"task": "reward"})  # the judge is called for reward, whatever the reviewer
    result = await process_chunk(chunk, generator, ScriptedChatModel([_review(4)]), settings)
    rewards = reward_records(result.accepted)
    assert task_record(rewards[0])["reward_score"] == 3.75


async def test_critique_returns_one_verdict_per_pair_in_order(chunk: Chunk) -> None:
    pairs = [("国家对数据实行什么保护制度？", ART21), ("", "空"), ("数据如何分级？", ART21)]
    critiques, usage = await critique_pairs(chunk, pairs, ScriptedChatModel([_review(5, (3, "写明条文"))]))
    assert [c.decision for c in critiques] == ["accept", "reject", "revise"]
    assert critiques[1].reason == "precheck:empty" and critiques[2].feedback == "写明条文"
    assert critiques[0].evidence and critiques[0].evidence[0].text in chunk.text
    assert usage.calls == 2  # the round trip and the judge, for both pairs at once


async def test_few_shot_examples_and_a_user_prompt_dir_shape_the_prompt(chunk: Chunk, tmp_path: Path) -> None:
    examples_file = tmp_path / "examples.jsonl"
    examples_file.write_text(
        json.dumps({"instruction": "甲公司能否拒绝提供数据？", "output": "不能。依据第三十五条……"}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    prompt_dir = tmp_path / "prompts"
    prompt_dir.mkdir()
    text = (resources.files("ftds.prompts") / "qa_generate.zh.md").read_text(encoding="utf-8")
    (prompt_dir / "qa_generate.zh.md").write_text(text.replace("qa_generate.zh@5", "my-qa@7"), encoding="utf-8")
    settings = BuildSettings(examples_file=examples_file, prompt_dir=prompt_dir)
    model = ScriptedChatModel([_json(pairs=[{"question": "国家对数据实行什么保护制度？", "answer": ART21}])])
    result = await generate_qa(chunk, model, settings)
    sent = model.history[0]["messages"][1]["content"]
    assert "甲公司能否拒绝提供数据？" in sent and "参考示例" in sent
    assert result.samples[0].prompt_version == "my-qa@7"


def test_a_broken_examples_file_says_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "ex.json"
    path.write_text('[{"question": "q"}]', encoding="utf-8")
    with pytest.raises(ExamplesError, match="example 1 needs string fields question and answer"):
        load_examples(path)
    assert FewShotExample(question="q", answer="a").answer == "a"


async def test_english_source_gets_english_prompts_and_a_forced_language_wins() -> None:
    text = "Article 5. The controller shall keep records of processing activities and make them available."
    chunk = Chunk(chunk_id="c1", doc_id="d1", index=0, text=text, provenance=chunk_provenance())
    model = ScriptedChatModel(
        [_json(pairs=[{"question": "What records must the controller keep?", "answer": text}])] * 2
    )
    english = await generate_qa(chunk, model)
    assert english.samples[0].prompt_version == "qa_generate.en@5"
    forced = await generate_qa(chunk, model, BuildSettings(language="zh"))
    assert (
        forced.prompt_version == "qa_generate.zh@5" and "请根据下面的资料" in model.history[1]["messages"][1]["content"]
    )


def chunk_provenance() -> Provenance:
    return Provenance(source="gdpr.md", char_start=0, char_end=10, heading_path=["GDPR"])


@pytest.mark.parametrize(
    ("replies", "reason"),
    [
        (["", ""], "generation:empty"),
        (["I'm sorry, I cannot help with that.", "I am unable to do this."], "generation:refusal"),
        (["{not json", "<think>hmm</think>still nothing"], "generation:unparseable"),
    ],
)
async def test_failure_paths_are_named_and_keep_the_raw_reply(chunk: Chunk, replies: list[str], reason: str) -> None:
    result = await generate_qa(chunk, ScriptedChatModel(replies))
    assert result.failure is not None and result.failure.reason == reason
    assert "raw reply" in result.failure.detail


async def test_wrong_language_answers_are_rejected_before_the_reviewer_sees_them(chunk: Chunk) -> None:
    generated = await generate_qa(
        chunk,
        ScriptedChatModel(
            [_json(pairs=[{"question": "What does Article 21 set up?", "answer": "A data classification system."}])]
        ),
    )
    reviewer = ScriptedChatModel([])
    review = await review_samples(chunk, generated.samples, reviewer)
    assert [v.rationale for v in review.to_revise.values()] == ["precheck:wrong_language"]
    assert review.rejected == [] and reviewer.history == []


async def test_think_block_before_fenced_json_is_stripped(chunk: Chunk) -> None:
    reply = (
        "<think>The source is article 21.</think>\n```json\n"
        + _json(pairs=[{"question": "国家对数据实行什么保护制度？", "answer": ART21}])
        + "\n```"
    )
    result = await generate_qa(chunk, ScriptedChatModel([reply]))
    assert result.samples[0].answer == ART21 and result.samples[0].reasoning == "The source is article 21."


async def test_a_bare_heading_instead_of_a_question_goes_to_revision_before_review(chunk: Chunk) -> None:
    # what the real 0.5B model wrote for this chunk: a heading, not a question
    generated = await generate_qa(
        chunk, ScriptedChatModel([_json(pairs=[{"question": "数据安全制度第二十一条", "answer": ART21}])])
    )
    reviewer = ScriptedChatModel([])
    review = await review_samples(chunk, generated.samples, reviewer)
    [verdict] = review.to_revise.values()
    assert verdict.decision == "revise" and verdict.rationale == "precheck:not_a_question"
    assert "问题" in verdict.feedback and review.rejected == [] and reviewer.history == []
    assert looks_like_question("请简述数据分类分级保护制度。") and looks_like_question("Explain Article 21.")


async def test_a_samples_task_record_is_written_by_its_tasks_format_with_the_id_kept(chunk: Chunk) -> None:
    sample = (
        await generate_qa(chunk, ScriptedChatModel([_json(pairs=[{"question": "什么制度？", "answer": ART21}])]))
    ).samples[0]
    assert task_record(sample) == {"instruction": "什么制度？", "input": "", "output": ART21, "id": sample.sample_id}
    reward = sample.model_copy(update={"task": "reward", "reward_score": 4.0})
    assert task_record(reward) == {"input": "什么制度？", "output": ART21, "id": sample.sample_id, "reward_score": 4.0}
    pair = task_record(sample.model_copy(update={"task": "preference", "rejected_answer": "不知道。"}))
    assert pair["prompt"] == [{"role": "user", "content": "什么制度？"}] and pair["id"] == sample.sample_id
    assert pair["chosen"][0]["content"] == ART21 and pair["rejected"][0]["content"] == "不知道。"
    steps = task_record(sample.model_copy(update={"task": "cot", "chain_of_thought": ["第一步", "第二步"]}))
    assert steps["chain_of_thought"] == ["第一步", "第二步"] and steps["output"] == ART21
    with pytest.raises(FormatError, match="reward_score"):
        task_record(sample.model_copy(update={"task": "reward"}))
    with pytest.raises(ValueError, match="unknown task 'poetry'"):
        task_record(sample.model_copy(update={"task": "poetry"}))
