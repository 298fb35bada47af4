"""The studio's storage and operations, on SQLite and on a real PostgreSQL server (same tests, both)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftds.tools.studio import importing, publish, taxonomy, team
from ftds.tools.studio import operations as ops
from ftds.tools.studio.models import Conflict, SampleFilter, StudioError
from ftds.tools.studio.operations import BulkOp
from ftds.tools.studio.store import Workspace
from tests.studio.conftest import sample, write_build


def _import(ws: Workspace, folder: Path) -> str:
    return importing.import_build(ws, folder, name="law").dataset.name


def test_a_build_folder_imports_accepted_and_rejected_samples_with_splits_and_labels(
    ws: Workspace, build_folder: Path
) -> None:
    result = importing.import_build(ws, build_folder, name="law")
    assert result.added == 15 and not result.errors
    assert result.dataset.counts == {"total": 15, "accept": 12, "reject": 3, "reviewed": 0}
    assert result.dataset.meta["report"]["run_id"] == "t"
    rejected = ops.list_samples(ws, "law", SampleFilter(decision="reject"))
    assert [r.reason for r in rejected.rows] == ["precheck:unsupported"] * 3
    assert {r.split for r in ops.list_samples(ws, "law", limit=50).rows} == {"train", "validation", ""}
    assert taxonomy.get_tree(ws, "law") == ["总则", "总则/定义", "数据安全", "数据安全/制度", "数据安全/义务"]
    with pytest.raises(StudioError, match="exists already"):
        importing.import_build(ws, build_folder, name="law")


def test_filters_select_by_label_subtree_decision_score_check_source_reviewer_and_text(
    ws: Workspace, build_folder: Path
) -> None:
    name = _import(ws, build_folder)

    def count(**kwargs: object) -> int:
        return ops.list_samples(ws, name, SampleFilter(**kwargs)).total

    assert count(label="数据安全") == 8 and count(label="数据安全/制度") == 4 and count(label="") == 3
    assert count(decision="accept") == 12
    assert count(min_score=0.7) == ops.list_samples(ws, name, SampleFilter(min_score=0.7)).total
    assert count(min_score=0.7, max_score=0.75) == 2  # 0.7 and 0.725
    assert count(failed_check="evidence") == 4 and count(failed_check="*") == 4
    assert count(source="other.md") == 5
    assert count(reviewer="") == 15
    assert count(query="第11问") == 1  # full-text search over Chinese text (trigram index or ILIKE)
    assert count(query="数据") == 15  # shorter than a trigram: the LIKE fallback answers
    assert count(query="no such words") == 0
    assert count(query="100%_") == 0  # LIKE wildcards are escaped
    ops.decide(ws, name, "s001", "reject", "ann", "off topic")
    assert count(reviewer="ann") == 1 and count(reviewer="ann", decision="accept") == 0


def test_pages_sort_and_bounds(ws: Workspace, build_folder: Path) -> None:
    name = _import(ws, build_folder)
    first = ops.list_samples(ws, name, sort="score", descending=True, offset=0, limit=4)
    second = ops.list_samples(ws, name, sort="score", descending=True, offset=4, limit=4)
    scores = [r.score for r in first.rows + second.rows]
    assert first.total == 15 and scores == sorted(scores, reverse=True)
    assert not {r.sample_id for r in first.rows} & {r.sample_id for r in second.rows}
    with pytest.raises(StudioError, match="limit"):
        ops.list_samples(ws, name, limit=0)
    with pytest.raises(StudioError, match="cannot sort by"):
        ops.list_samples(ws, name, sort="nonsense")  # type: ignore[arg-type]


def test_an_edit_is_audited_with_before_and_after_and_undo_restores_it(ws: Workspace, build_folder: Path) -> None:
    name = _import(ws, build_folder)
    before = ops.get_sample(ws, name, "s002")
    row = ops.update_sample(ws, name, "s002", {"answer": "改过的答案", "label": "总则"}, "ann", before.row.version)
    assert row.answer == "改过的答案" and row.label == "总则" and row.reviewer == "ann"
    assert row.version == before.row.version + 1
    entry = ops.history(ws, name, "s002")[0]
    assert entry.actor == "ann" and entry.action == "edit"
    changes = {c.field: (c.before, c.after) for c in entry.diff}
    assert changes["answer"] == (before.sample["answer"], "改过的答案")
    assert changes["label"] == ("数据安全/义务", "总则")
    result = ops.undo(ws, name, "ann")
    assert result.samples == 1
    after = ops.get_sample(ws, name, "s002")
    assert after.sample["answer"] == before.sample["answer"] and after.row.label == "数据安全/义务"
    assert after.row.reviewer == ""
    log = ops.history(ws, name)
    assert log[0].action == "undo" and log[1].undone
    with pytest.raises(StudioError, match="nothing to undo"):
        ops.undo(ws, name, "ann")


def test_bad_edits_are_refused_with_a_reason(ws: Workspace, build_folder: Path) -> None:
    name = _import(ws, build_folder)
    with pytest.raises(StudioError, match="cannot edit sample_id"):
        ops.update_sample(ws, name, "s001", {"sample_id": "x"}, "ann")
    with pytest.raises(StudioError, match="reward_score"):
        ops.update_sample(ws, name, "s001", {"reward_score": 9}, "ann")
    with pytest.raises(StudioError, match="reviewer name"):
        ops.update_sample(ws, name, "s001", {"answer": "x"}, " ")
    with pytest.raises(StudioError, match="no sample"):
        ops.update_sample(ws, name, "nope", {"answer": "x"}, "ann")
    version = ops.get_sample(ws, name, "s001").row.version
    ops.update_sample(ws, name, "s001", {"answer": "first"}, "bob", version)
    with pytest.raises(Conflict, match="changed since you opened it"):
        ops.update_sample(ws, name, "s001", {"answer": "second"}, "ann", version)
    assert ops.get_sample(ws, name, "s001").sample["answer"] == "first"


def test_reject_needs_a_reason_sets_rejection_and_rescue_brings_a_rejected_sample_back(
    ws: Workspace, build_folder: Path
) -> None:
    name = _import(ws, build_folder)
    with pytest.raises(StudioError, match="reason"):
        ops.decide(ws, name, "s001", "reject", "ann")
    ops.decide(ws, name, "s001", "reject", "ann", "answer is wrong")
    detail = ops.get_sample(ws, name, "s001")
    assert detail.row.decision == "reject" and detail.sample["rejection"]["detail"] == "answer is wrong"
    with pytest.raises(StudioError, match="not rejected"):
        ops.rescue(ws, name, "s002", "ann")
    rescued = ops.rescue(ws, name, "s013", "ann")
    assert rescued.decision == "accept" and ops.get_sample(ws, name, "s013").sample["rejection"] is None
    history = ops.history(ws, name, "s013")[0].diff
    assert any(c.field == "rejection" and c.before["reason"] == "precheck:unsupported" for c in history)


def test_undo_never_overwrites_a_later_edit_by_someone_else(ws: Workspace, build_folder: Path) -> None:
    name = _import(ws, build_folder)
    ops.update_sample(ws, name, "s004", {"question": "ann's question"}, "ann")
    ops.update_sample(ws, name, "s004", {"question": "bob's question"}, "bob")
    with pytest.raises(Conflict, match="changed since"):
        ops.undo(ws, name, "ann")
    assert ops.get_sample(ws, name, "s004").sample["question"] == "bob's question"
    ops.undo(ws, name, "bob")
    ops.undo(ws, name, "ann")
    assert ops.get_sample(ws, name, "s004").sample["question"].startswith("第4问")


def test_bulk_decision_on_a_filter_previews_every_change_and_refuses_a_stale_preview(
    ws: Workspace, build_folder: Path
) -> None:
    name = _import(ws, build_folder)
    op = BulkOp(
        kind="decide",
        filter=SampleFilter(failed_check="evidence", decision="accept"),
        decision="reject",
        reason="no evidence",
    )
    plan = ops.preview(ws, name, op)
    assert plan.samples == 3 and {c.field for c in plan.changes} == {"decision", "reason", "rejection"}
    ops.update_sample(ws, name, "s004", {"answer": "changed meanwhile"}, "bob")
    with pytest.raises(Conflict, match="preview again"):
        ops.apply(ws, name, op, "ann", plan.fingerprint)
    plan = ops.preview(ws, name, op)
    result = ops.apply(ws, name, op, "ann", plan.fingerprint)
    assert result.samples == 3
    assert ops.list_samples(ws, name, SampleFilter(decision="reject", reviewer="ann")).total == 3
    ops.undo(ws, name, "ann")
    assert ops.list_samples(ws, name, SampleFilter(decision="reject")).total == 3  # the original 3 only


def test_find_and_replace_lists_every_change_then_applies_exactly_those(ws: Workspace, build_folder: Path) -> None:
    name = _import(ws, build_folder)
    op = BulkOp(kind="replace", find="数据处理", replace="数据的处理", fields=["question", "answer"])
    plan = ops.preview(ws, name, op)
    assert plan.samples == 15 and plan.total == 30
    first = plan.changes[0]
    assert first.before.replace("数据处理", "数据的处理") == first.after
    result = ops.apply(ws, name, op, "ann", plan.fingerprint)
    assert result.samples == 15
    assert ops.list_samples(ws, name, SampleFilter(query="数据的处理")).total == 15
    regex = BulkOp(kind="replace", find=r"第(\d+)条", replace=r"Art. \1", fields=["answer"], regex=True)
    assert ops.preview(ws, name, regex).changes[0].after.endswith("（Art. 0）。")
    with pytest.raises(StudioError, match="not valid"):
        ops.preview(ws, name, BulkOp(kind="replace", find="(", regex=True))


def test_relabel_across_the_dataset(ws: Workspace, build_folder: Path) -> None:
    name = _import(ws, build_folder)
    op = BulkOp(kind="relabel", filter=SampleFilter(label="数据安全/义务"), label="数据安全/制度")
    plan = ops.preview(ws, name, op)
    assert plan.samples == 4 and all(c.after == "数据安全/制度" for c in plan.changes)
    ops.apply(ws, name, op, "ann", plan.fingerprint)
    assert ops.list_samples(ws, name, SampleFilter(label="数据安全/制度")).total == 8
    new_label = BulkOp(kind="relabel", filter=SampleFilter(label="总则"), label="附则/过渡")
    ops.apply(ws, name, new_label, "ann", ops.preview(ws, name, new_label).fingerprint)
    assert taxonomy.get_tree(ws, name)[-2:] == ["附则", "附则/过渡"]  # a new label joins the tree
    ops.undo(ws, name, "ann")
    assert (
        "附则" not in taxonomy.get_tree(ws, name) and ops.list_samples(ws, name, SampleFilter(label="总则")).total == 4
    )


def test_label_tree_edits_move_samples_with_them_and_undo_as_one(ws: Workspace, build_folder: Path) -> None:
    name = _import(ws, build_folder)
    taxonomy.add_label(ws, name, "附则/生效", "ann")
    assert {"附则", "附则/生效"} <= set(taxonomy.get_tree(ws, name))
    taxonomy.rename_label(ws, name, "数据安全", "安全", "ann")
    assert ops.list_samples(ws, name, SampleFilter(label="安全/制度")).total == 4
    assert "数据安全/制度" not in taxonomy.get_tree(ws, name)
    taxonomy.move_label(ws, name, "安全/义务", "总则", "ann")
    assert ops.list_samples(ws, name, SampleFilter(label="总则/义务")).total == 4
    taxonomy.merge_labels(ws, name, "总则/义务", "总则/定义", "ann")
    assert ops.list_samples(ws, name, SampleFilter(label="总则/定义")).total == 8
    ops.undo(ws, name, "ann")  # the merge
    assert ops.list_samples(ws, name, SampleFilter(label="总则/义务")).total == 4
    assert "总则/义务" in taxonomy.get_tree(ws, name)
    taxonomy.remove_label(ws, name, "附则", "ann")
    assert "附则/生效" not in taxonomy.get_tree(ws, name)
    with pytest.raises(StudioError, match="inside itself"):
        taxonomy.move_label(ws, name, "总则", "总则/定义", "ann")
    with pytest.raises(StudioError, match="exists already"):
        taxonomy.rename_label(ws, name, "安全", "总则", "ann")


def test_a_taxonomy_imports_from_yaml_and_from_a_statutes_table_of_contents(
    ws: Workspace, build_folder: Path, tmp_path: Path
) -> None:
    name = _import(ws, build_folder)
    yaml_file = tmp_path / "tree.yaml"
    yaml_file.write_text("合同:\n  - 订立\n  - 效力\n", encoding="utf-8")
    taxonomy.import_taxonomy(ws, name, yaml_file, "ann")
    assert {"合同", "合同/订立", "合同/效力"} <= set(taxonomy.get_tree(ws, name))
    statute = tmp_path / "民法典.txt"
    statute.write_text(
        "中华人民共和国民法典\n\n第一编 总则\n\n第一章 基本规定\n\n第一条 为了保护民事主体的合法权益，制定本法。\n\n"
        "第二章 自然人\n\n第一节 民事权利能力\n\n第十三条 自然人从出生时起到死亡时止，具有民事权利能力。\n\n"
        "第二编 物权\n\n第一章 通则\n\n第二百零五条 本编调整因物的归属和利用产生的民事关系。\n",
        encoding="utf-8",
    )
    paths = taxonomy.taxonomy_paths(statute)
    assert paths == [
        "第一编 总则",
        "第一编 总则/第一章 基本规定",
        "第一编 总则/第二章 自然人",
        "第一编 总则/第二章 自然人/第一节 民事权利能力",
        "第二编 物权",
        "第二编 物权/第一章 通则",
    ]
    taxonomy.import_taxonomy(ws, name, statute, "ann", replace=True)
    assert taxonomy.get_tree(ws, name) == paths
    with pytest.raises(StudioError, match="does not exist"):
        taxonomy.taxonomy_paths(tmp_path / "absent.yaml")


def test_label_balance_counts_sub_labels_and_flags_labels_outside_the_tree(ws: Workspace, build_folder: Path) -> None:
    name = _import(ws, build_folder)
    ops.update_sample(ws, name, "s000", {"label": "其他"}, "ann")
    balance = taxonomy.balance(ws, name)
    counts = {c.label: (c.total, c.accepted) for c in balance.labels}
    assert counts["数据安全"] == (8, 8) and counts["数据安全/制度"] == (4, 4) and counts["总则/定义"] == (3, 3)
    assert balance.unlabelled == 3 and balance.outside_tree == ["其他"]
    assert balance.imbalance == 4.0  # 4 accepted in the largest used label, 1 in 其他


def test_cohen_kappa_on_a_known_example() -> None:
    # 50 items: both accept 20, A accept/B reject 5, A reject/B accept 10, both reject 15
    pairs = [("accept", "accept")] * 20 + [("accept", "reject")] * 5 + [("reject", "accept")] * 10
    pairs += [("reject", "reject")] * 15
    result = team.cohen_kappa(pairs)
    assert result.observed == 0.7 and result.expected == 0.5 and result.kappa == 0.4
    assert team.cohen_kappa([("accept", "accept")] * 3).kappa == 1.0
    assert team.cohen_kappa([]).kappa is None


def test_assignments_scope_samples_and_double_review_gives_kappa(ws: Workspace, build_folder: Path) -> None:
    name = _import(ws, build_folder)
    by_label = team.assign(ws, name, "ann", label_scope="数据安全")
    by_range = team.assign(ws, name, "bob", range_start=0, range_end=5)
    assert by_label.samples == 8 and by_range.samples == 5
    assert ops.list_samples(ws, name, SampleFilter(assigned_to="bob")).total == 5
    assert ops.list_samples(ws, name, SampleFilter(assigned_to="nobody")).total == 0
    with pytest.raises(StudioError, match="label scope or a sample range"):
        team.assign(ws, name, "carl")
    decisions_ann = ["accept", "accept", "reject", "accept"]
    decisions_bob = ["accept", "reject", "reject", "accept"]
    for index, (a, b) in enumerate(zip(decisions_ann, decisions_bob, strict=True)):
        sample_id = f"s00{index}"
        ops.decide(ws, name, sample_id, a, "ann", "" if a == "accept" else "no")  # type: ignore[arg-type]
        ops.decide(ws, name, sample_id, b, "bob", "" if b == "accept" else "no")  # type: ignore[arg-type]
    (pair,) = team.agreement(ws, name)
    assert pair.reviewers == ("ann", "bob") and pair.samples == 4
    assert pair.observed == 0.75 and pair.kappa == 0.5  # p_e = 0.5*0.5 + 0.5*0.5... see matrix
    assert pair.matrix["accept"]["reject"] == 1
    team.unassign(ws, name, by_label.id)
    assert [a.reviewer for a in team.list_assignments(ws, name)] == ["bob"]


def test_validation_uses_the_trainer_rules_and_export_carries_reviewer_decisions_into_provenance(
    ws: Workspace, build_folder: Path, tmp_path: Path
) -> None:
    name = _import(ws, build_folder)
    ops.update_sample(ws, name, "s001", {"answer": "  "}, "ann")
    report = publish.validate_dataset(ws, name, "alpaca")
    assert not report.ok and [e.sample_id for e in report.errors] == ["s001"]
    assert "empty" in report.errors[0].message
    ops.update_sample(ws, name, "s001", {"answer": "第一条的答案"}, "ann")
    ops.decide(ws, name, "s002", "reject", "ann", "duplicate of s005")
    ops.rescue(ws, name, "s013", "bob")
    assert publish.validate_dataset(ws, name, "sharegpt").ok
    out = tmp_path / "export"
    summary = publish.export_reviewed(ws, name, out, fmt="alpaca")
    assert summary.counts == {"train": 10, "validation": 2} and summary.rejected == 3
    train = [json.loads(line) for line in (out / "provenance" / "train.jsonl").open(encoding="utf-8")]
    by_id = {r["sample_id"]: r for r in train}
    assert by_id["s001"]["answer"] == "第一条的答案"
    assert by_id["s001"]["studio"]["reviewer"] == "ann" and by_id["s001"]["studio"]["edited_fields"] == ["answer"]
    assert by_id["s013"]["studio"]["decision"] == "accept" and by_id["s013"]["rejection"] is None
    rejected = {json.loads(line)["sample_id"]: json.loads(line) for line in (out / "rejected.jsonl").open()}
    assert rejected["s002"]["rejection"]["detail"] == "duplicate of s005" and "s013" not in rejected
    records = [json.loads(line) for line in (out / "data" / "train.jsonl").open(encoding="utf-8")]
    assert {r["output"] for r in records} >= {"第一条的答案"}
    with pytest.raises(StudioError, match="already holds a dataset"):
        publish.export_reviewed(ws, name, out, fmt="alpaca")
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    recomputed = publish.export_reviewed(ws, name, out, fmt="sharegpt", split="recompute", overwrite=True)
    assert sum(recomputed.counts.values()) == 12
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"  # only the old export's files went
    exports = ops.get_dataset(ws, name).meta["exports"]  # the exported versions, newest last
    assert [e["format"] for e in exports] == ["alpaca", "sharegpt"] and exports[0]["version"] < exports[1][
        "version"
    ] + 1


def test_dataset_files_import_in_any_format_with_a_column_mapping(ws: Workspace, tmp_path: Path) -> None:
    csv_file = tmp_path / "faq.csv"
    csv_file.write_text("问题,回答,类别\n什么是数据?,数据是信息的记录。,定义\n,空问题,定义\n谁负责?,国家机关。,职责\n")
    result = importing.import_file(ws, csv_file, mapping={"instruction": "问题", "output": "回答", "label": "类别"})
    assert result.added == 2 and len(result.errors) == 1 and "record 2" in result.errors[0]
    page = ops.list_samples(ws, "faq")
    assert [(r.question, r.answer, r.label) for r in page.rows] == [
        ("什么是数据?", "数据是信息的记录。", "定义"),
        ("谁负责?", "国家机关。", "职责"),
    ]
    chat = tmp_path / "chat.jsonl"
    chat.write_text(
        json.dumps({"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}] * 2}) + "\n"
    )
    imported = importing.import_path(ws, chat)
    assert imported.dataset.format == "sharegpt" and imported.dataset.task == "dialogue"
    assert publish.validate_dataset(ws, "chat").ok
    with pytest.raises(StudioError, match="does not exist"):
        importing.import_file(ws, tmp_path / "absent.jsonl")


def test_a_running_build_is_re_read_new_samples_appear_and_reviewed_ones_are_kept(
    ws: Workspace, tmp_path: Path
) -> None:
    folder = write_build(tmp_path / "live", {"train": [sample(i, "A") for i in range(3)]}, [])
    importing.import_build(ws, folder, name="live")
    ops.update_sample(ws, "live", "s001", {"answer": "reviewed"}, "ann")
    assert importing.sync_build(ws, "live").added == 0  # nothing changed on disk
    changed = sample(1, "A", answer="rewritten by the build")
    write_build(
        folder,
        {"train": [sample(0, "B"), changed, *[sample(i, "A") for i in range(2, 6)]]},
        [sample(9, None, rejected=True)],
    )
    result = importing.sync_build(ws, "live")
    assert (result.added, result.updated, result.kept) == (4, 1, 1)
    assert ops.get_sample(ws, "live", "s001").sample["answer"] == "reviewed"
    assert ops.get_sample(ws, "live", "s000").row.label == "B"
    assert ops.list_samples(ws, "live").total == 7


def test_the_sample_view_shows_the_source_passage_around_chunk_and_evidence(ws: Workspace, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    text = "第一条 为了规范数据处理活动，制定本法。\n\n第二条 本法适用于境内的数据处理活动。\n"
    (docs / "law.md").write_text(text, encoding="utf-8")
    start = text.index("第二条")
    quote = "适用于境内的数据处理活动"
    evidence = {"char_start": text.index(quote), "char_end": text.index(quote) + len(quote), "text": quote}
    item = sample(1, "A", evidence=[evidence])
    item["provenance"] = {"source": "law.md", "char_start": start, "char_end": len(text)}
    folder = write_build(tmp_path / "b", {"train": [item]}, [])
    importing.import_build(ws, folder, name="p", documents=[docs])
    detail = ops.get_sample(ws, "p", "s001")
    assert detail.passage == text[start:] and detail.passage_start == start
    span = detail.sample["evidence"][0]
    offset = detail.passage_start
    assert detail.passage[span["char_start"] - offset : span["char_end"] - offset] == quote


def test_a_build_still_running_is_live_until_the_run_registry_says_it_ended(ws: Workspace, tmp_path: Path) -> None:
    from ftds.agents.runs import RunStore

    folder = tmp_path / "run-out"
    live = folder / "live" / "samples.jsonl"
    live.parent.mkdir(parents=True)

    def append(*items: dict[str, object]) -> None:  # what a build appends as each chunk finishes
        with live.open("a", encoding="utf-8") as handle:
            handle.writelines(json.dumps(item, ensure_ascii=False) + "\n" for item in items)

    append(sample(0, "A"), sample(1, "A", rejected=True))
    runs = RunStore(tmp_path / "runs")
    runs.create("r1", "law", [str(tmp_path / "docs")], str(folder), {})  # this process: alive, so running
    first = importing.import_build(ws, folder, name="live", runs_dir=tmp_path / "runs")
    assert first.dataset.status == "live" and first.dataset.counts == {
        "total": 2,
        "accept": 1,
        "reject": 1,
        "reviewed": 0,
    }
    append(sample(2, "A"))  # another chunk finished
    assert importing.sync_build(ws, "live", runs_dir=tmp_path / "runs").added == 1
    ops.update_sample(ws, "live", "s002", {"answer": "reviewed while the build ran"}, "ann")
    # the build ends: splits and rejected.jsonl are written, the registry says finished
    write_build(folder, {"train": [sample(0, "A")], "test": [sample(2, "A")]}, [sample(1, "A", rejected=True)])
    runs.update("r1", "finished")
    done = importing.sync_build(ws, "live", runs_dir=tmp_path / "runs")
    assert done.dataset.status == "finished" and (done.added, done.updated, done.kept) == (0, 1, 1)
    assert ops.get_sample(ws, "live", "s000").row.split == "train"
    assert ops.get_sample(ws, "live", "s002").sample["answer"] == "reviewed while the build ran"
    assert ops.list_samples(ws, "live", SampleFilter(decision="reject")).total == 1


def test_hostile_dataset_files_import_or_fail_with_a_studio_error(tmp_path: Path) -> None:
    from ftds.tools.studio.store import open_workspace
    from tests.adversarial.hostile import build_datasets

    ws = open_workspace(tmp_path / "ws")
    for name, path in build_datasets(tmp_path / "hostile").items():
        try:
            result = importing.import_path(ws, path, name=f"h-{name}")
        except StudioError as exc:
            assert str(exc), name  # a sentence, never a traceback
        else:
            assert result.added > 0, name


def test_a_damaged_line_in_a_build_folder_is_listed_and_the_rest_imported(ws: Workspace, build_folder: Path) -> None:
    with (build_folder / "provenance" / "train.jsonl").open("ab") as handle:
        handle.write(b"\xff\xfe not json\n" + b'{"sample_id": "x"}\n')
    result = importing.import_build(ws, build_folder, name="damaged")
    assert result.added == 15 and len(result.errors) == 2
    assert all("train.jsonl line" in error for error in result.errors)
