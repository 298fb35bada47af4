"""Exports of an evaluation set: the documented schemas of EvalScope, OpenCompass and lighteval, and EvalScope's
own loader and general_mcq / general_qa adapters reading the files (installed by scripts/setup-evalscope.sh
into a folder of its own: installing EvalScope into the venv would downgrade `datasets`)."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ftds.tools.evaluation.export import export_all
from ftds.tools.evaluation.items import (
    LETTERS,
    MultipleChoiceItem,
    OpenItem,
    ShortAnswerItem,
    SingleChoiceItem,
    TrueFalseItem,
)
from ftds.tools.evaluation.store import EvalSetError, EvalSetInfo, load_eval_set, write_eval_set
from tests.tools.test_evaluation_items import common

REPO = Path(__file__).resolve().parents[2]
LOADER = Path(os.environ.get("FTDS_EVALSCOPE_LOADER", REPO / "build" / "evalscope-loader"))


OPTIONS_1 = ["三十日", "六十日", "一年", "两年"]
OPTIONS_2 = ["国家网信部门", "公安机关", "法院", "企业"]
REFERENCE = "确保数据处于有效保护和合法利用的状态。"


def sample_items() -> list:
    def c(kind: str, n: int) -> dict:
        return {**common(kind), "item_id": f"{kind}-{n}"}

    return [
        SingleChoiceItem(**c("single_choice", 1), question="期限是多久？", options=OPTIONS_1, answer="A"),
        SingleChoiceItem(**c("single_choice", 2), question="谁负责？", options=OPTIONS_2, answer="A"),
        MultipleChoiceItem(
            **c("multiple_choice", 1),
            question="哪些属于数据处理？",
            options=["收集", "存储", "出生", "旅行"],
            answers=["A", "B"],
        ),
        TrueFalseItem(**c("true_false", 1), question="国家建立数据分类分级保护制度。", answer=True),
        TrueFalseItem(**c("true_false", 2), question="国家不建立数据分类分级保护制度。", answer=False),
        ShortAnswerItem(**c("short_answer", 1), question="数据是对信息的什么？", answer="记录", accepted=["记载"]),
        OpenItem(
            **c("open", 1), question="说明数据安全的含义。", reference_answer=REFERENCE, rubric=["有效保护", "合法利用"]
        ),
    ]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_exports_follow_the_documented_schemas(tmp_path: Path) -> None:
    items = sample_items()
    written = export_all(items, tmp_path)
    mcq = read_jsonl(tmp_path / "evalscope" / "mcq" / "single_choice_val.jsonl")
    letters = {"A": "三十日", "B": "六十日", "C": "一年", "D": "两年"}
    assert mcq[0] == {"id": "single_choice-1", "question": "期限是多久？", **letters, "answer": "A"}
    tf = read_jsonl(tmp_path / "evalscope" / "mcq" / "true_false_val.jsonl")
    assert [(r["A"], r["B"], r["answer"]) for r in tf] == [("正确", "错误", "A"), ("正确", "错误", "B")]
    multi = read_jsonl(tmp_path / "evalscope" / "mcq" / "multiple_choice_val.jsonl")
    assert multi[0]["answer"] == ["A", "B"]  # a list: general_mcq with multiple_correct=True
    with (tmp_path / "evalscope" / "mcq_csv" / "single_choice_val.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["id", "question", "A", "B", "C", "D", "answer"] and rows[1]["answer"] == "A"
    qa = read_jsonl(tmp_path / "evalscope" / "qa" / "short_answer.jsonl")
    assert qa == [{"id": "short_answer-1", "query": "数据是对信息的什么？", "response": "记录"}]
    oc_mcq = read_jsonl(tmp_path / "opencompass" / "mcq.jsonl")
    assert all(set(r) == {"question", "answer", *LETTERS[: len(r) - 2]} for r in oc_mcq) and len(oc_mcq) == 4
    oc_qa = read_jsonl(tmp_path / "opencompass" / "qa.jsonl")
    assert {"question": "哪些属于数据处理？\nA. 收集\nB. 存储\nC. 出生\nD. 旅行", "answer": "AB"} in oc_qa
    light = {r["id"]: r for r in read_jsonl(tmp_path / "lighteval" / "eval.jsonl")}
    assert light["single_choice-1"]["gold_index"] == 0 and light["multiple_choice-1"]["gold_index"] == [0, 1]
    assert light["true_false-2"]["choices"] == ["正确", "错误"] and light["true_false-2"]["gold_index"] == 1
    assert light["short_answer-1"]["choices"] == ["记录", "记载"]
    assert all(Path(p).is_file() for p in written.values())


def test_a_mixed_option_count_gets_no_csv_an_empty_cell_would_be_an_option(tmp_path: Path) -> None:
    items = sample_items()
    items[1] = items[1].model_copy(update={"options": ["国家网信部门", "公安机关", "法院"]})
    export_all(items, tmp_path)
    assert (tmp_path / "evalscope" / "mcq" / "single_choice_val.jsonl").is_file()
    assert not (tmp_path / "evalscope" / "mcq_csv" / "single_choice_val.csv").exists()


def test_a_set_folder_round_trips_and_bad_lines_are_named(tmp_path: Path) -> None:
    items = sample_items()
    info = write_eval_set(tmp_path / "set", items, EvalSetInfo(name="t", domain="law", items=len(items)))
    assert load_eval_set(tmp_path / "set") == items
    assert "What it measures" in (tmp_path / "set" / "README.md").read_text(encoding="utf-8")
    assert set(info.outputs) >= {"items", "rejected", "card", "evalscope_mcq_single_choice", "lighteval"}
    (tmp_path / "set" / "items.jsonl").write_text('{"kind": "single_choice", "question": "q"}\n', encoding="utf-8")
    with pytest.raises(EvalSetError, match="line 1 is not an evaluation item"):
        load_eval_set(tmp_path / "set")
    with pytest.raises(EvalSetError, match="eval-set build"):
        load_eval_set(tmp_path / "nowhere")


EVALSCOPE_READER = """
import json, sys, types
from pathlib import Path
root, exports = Path(sys.argv[1]), Path(sys.argv[2])
sys.path.insert(0, str(root))
package = types.ModuleType("evalscope")  # skip evalscope/__init__.py: it imports every backend
package.__path__ = [str(root / "evalscope")]
sys.modules["evalscope"] = package
import evalscope.benchmarks.general_mcq.general_mcq_adapter  # registers general_mcq
import evalscope.benchmarks.general_qa.general_qa_adapter  # registers general_qa
from evalscope.api.registry import get_benchmark
from evalscope.config import TaskConfig

def load(name, path, subsets, **extra):
    args = {"local_path": str(path), "subset_list": subsets, **extra}
    task = TaskConfig(model="dummy", datasets=[name], dataset_args={name: args})
    data = get_benchmark(name, task).load_dataset()
    def text(value):
        return value if isinstance(value, str) else value[-1].content
    return {s: [{"choices": list(x.choices or []), "target": x.target, "input": text(x.input)} for x in ds]
            for s, ds in data.items()}

out = {
    "mcq": load("general_mcq", exports / "mcq", ["single_choice", "true_false"]),
    "mcq_csv": load("general_mcq", exports / "mcq_csv", ["single_choice", "true_false"]),
    "multi": load("general_mcq", exports / "mcq", ["multiple_choice"], extra_params={"multiple_correct": True}),
    "qa": load("general_qa", exports / "qa", ["short_answer", "open"]),
}
print(json.dumps(out, ensure_ascii=False))
"""


@pytest.mark.skipif(
    not (LOADER / "evalscope").is_dir(),
    reason=f"EvalScope's loader is not set up: run scripts/setup-evalscope.sh ({LOADER})",
)
def test_evalscope_reads_the_exports_with_its_own_loader_and_adapters(tmp_path: Path) -> None:
    export_all(sample_items(), tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", EVALSCOPE_READER, str(LOADER), str(tmp_path / "evalscope")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    data = json.loads(done.stdout.strip().splitlines()[-1])
    single = data["mcq"]["single_choice"]
    assert [s["choices"] for s in single] == [
        ["三十日", "六十日", "一年", "两年"],
        ["国家网信部门", "公安机关", "法院", "企业"],
    ]
    assert [s["target"] for s in single] == ["A", "A"]
    assert "期限是多久？" in single[0]["input"]
    assert [s["target"] for s in data["mcq"]["true_false"]] == ["A", "B"]
    assert data["mcq_csv"] == data["mcq"]
    assert data["multi"]["multiple_choice"][0]["target"] == ["A", "B"]
    assert [s["target"] for s in data["qa"]["short_answer"]] == ["记录"]
    assert data["qa"]["open"][0]["target"] == REFERENCE
