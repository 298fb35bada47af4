"""Write an evaluation set in the formats evaluation tools read, one writer per tool.

- EvalScope custom datasets (docs: advanced_guides/custom_dataset/llm): ``general_mcq`` reads
  ``{subset}_val.jsonl`` / ``.csv`` rows ``{id, question, A, B, ..., answer}`` (answer a letter; a list of
  letters with ``extra_params.multiple_correct``, JSONL only); ``general_qa`` reads ``{subset}.jsonl`` rows
  ``{query, response}``. Subsets: ``single_choice``, ``true_false`` (two options), ``multiple_choice``;
  ``short_answer``, ``open``. A CSV is written per subset (its own folder) only when every row has the same
  number of options: an empty CSV cell would become an empty option.
- OpenCompass custom datasets (docs: advanced_guides/custom_dataset): ``mcq`` JSONL rows
  ``{question, A, B, ..., answer}``; ``qa`` JSONL rows ``{question, answer}``. Multiple-answer items go to the
  ``qa`` file with the options in the question and the letters as the answer (OpenCompass' ``mcq`` takes one).
- lighteval: JSONL rows holding the fields of ``lighteval.tasks.requests.Doc`` (``query``, ``choices``,
  ``gold_index``, ``instruction``) so a custom task's prompt function is ``Doc(task_name=..., **row_fields)``.
- plain JSONL: every item whole (``items.jsonl`` of the set folder, written by :mod:`.store`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ftds.tools.dataset.files import write_jsonl, write_records
from ftds.tools.evaluation.items import (
    LETTERS,
    EvalItem,
    MultipleChoiceItem,
    OpenItem,
    ShortAnswerItem,
    SingleChoiceItem,
    TrueFalseItem,
    option_lines,
    reference_answer,
    truth_word,
)


def _write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> str:
    write_jsonl(path, rows)
    return str(path)


def _write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> str:
    write_records(path, rows, "csv")
    return str(path)


def _tf_options(item: TrueFalseItem) -> list[str]:
    language = item.language or "en"
    return [truth_word(True, language), truth_word(False, language)]


def choice_row(
    item: SingleChoiceItem | MultipleChoiceItem | TrueFalseItem, multi_as_list: bool = True
) -> dict[str, Any]:
    """``{id, question, A, B, ..., answer}``: the row EvalScope's general_mcq and OpenCompass' mcq read."""
    if isinstance(item, TrueFalseItem):
        options, answer = _tf_options(item), "A" if item.answer else "B"
    elif isinstance(item, SingleChoiceItem):
        options, answer = item.options, item.answer
    else:
        options = item.options
        answer = list(item.answers) if multi_as_list else "".join(item.answers)  # type: ignore[assignment]
    row: dict[str, Any] = {"id": item.item_id, "question": item.question}
    row.update({LETTERS[i]: text for i, text in enumerate(options)})
    row["answer"] = answer
    return row


def evalscope_export(items: Sequence[EvalItem], out_dir: Path) -> dict[str, str]:
    """EvalScope ``general_mcq`` (``mcq/``, ``mcq_csv/``) and ``general_qa`` (``qa/``) files; returns name -> path."""
    written: dict[str, str] = {}
    mcq: dict[str, list[dict[str, Any]]] = {
        "single_choice": [choice_row(i) for i in items if isinstance(i, SingleChoiceItem)],
        "true_false": [choice_row(i) for i in items if isinstance(i, TrueFalseItem)],
        "multiple_choice": [choice_row(i) for i in items if isinstance(i, MultipleChoiceItem)],
    }
    for subset, rows in mcq.items():
        if not rows:
            continue
        written[f"evalscope_mcq_{subset}"] = _write_jsonl(out_dir / "mcq" / f"{subset}_val.jsonl", rows)
        uniform = len({tuple(r) for r in rows}) == 1
        if subset != "multiple_choice" and uniform:
            written[f"evalscope_mcq_csv_{subset}"] = _write_csv(out_dir / "mcq_csv" / f"{subset}_val.csv", rows)
    qa = {
        "short_answer": [
            {"id": i.item_id, "query": i.question, "response": i.answer}
            for i in items
            if isinstance(i, ShortAnswerItem)
        ],
        "open": [
            {"id": i.item_id, "query": i.question, "response": i.reference_answer}
            for i in items
            if isinstance(i, OpenItem)
        ],
    }
    for subset, rows in qa.items():
        if rows:
            written[f"evalscope_qa_{subset}"] = _write_jsonl(out_dir / "qa" / f"{subset}.jsonl", rows)
    return written


def opencompass_export(items: Sequence[EvalItem], out_dir: Path) -> dict[str, str]:
    """OpenCompass custom ``mcq`` and ``qa`` JSONL files; returns name -> path."""
    written: dict[str, str] = {}
    single = [choice_row(i) for i in items if isinstance(i, SingleChoiceItem | TrueFalseItem)]
    for row in single:
        row.pop("id")
    if single:
        written["opencompass_mcq"] = _write_jsonl(out_dir / "mcq.jsonl", single)
    qa: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, MultipleChoiceItem):
            qa.append({"question": f"{item.question}\n{option_lines(item.options)}", "answer": "".join(item.answers)})
        elif isinstance(item, ShortAnswerItem | OpenItem):
            qa.append({"question": item.question, "answer": reference_answer(item)})
    if qa:
        written["opencompass_qa"] = _write_jsonl(out_dir / "qa.jsonl", qa)
    return written


def lighteval_row(item: EvalItem) -> dict[str, Any]:
    """The fields of lighteval's ``Doc`` for one item (plus ``id`` and ``kind``)."""
    choices: list[str]
    gold: int | list[int]
    query = item.question
    if isinstance(item, SingleChoiceItem):
        choices, gold = item.options, LETTERS.index(item.answer)
        query = f"{item.question}\n{option_lines(item.options)}"
    elif isinstance(item, MultipleChoiceItem):
        choices, gold = item.options, [LETTERS.index(a) for a in item.answers]
        query = f"{item.question}\n{option_lines(item.options)}"
    elif isinstance(item, TrueFalseItem):
        choices, gold = _tf_options(item), 0 if item.answer else 1
    elif isinstance(item, ShortAnswerItem):
        choices, gold = item.variants, list(range(len(item.variants)))
    else:
        choices, gold = [item.reference_answer], 0
    return {
        "id": item.item_id,
        "kind": item.kind,
        "query": query,
        "choices": choices,
        "gold_index": gold,
        "instruction": "",
    }


def lighteval_export(items: Sequence[EvalItem], out_dir: Path) -> dict[str, str]:
    if not items:
        return {}
    return {"lighteval": _write_jsonl(out_dir / "eval.jsonl", [lighteval_row(i) for i in items])}


def export_all(items: Sequence[EvalItem], exports_dir: Path) -> dict[str, str]:
    """Every export under ``exports_dir`` (evalscope/, opencompass/, lighteval/); returns name -> path."""
    written: dict[str, str] = {}
    written.update(evalscope_export(items, exports_dir / "evalscope"))
    written.update(opencompass_export(items, exports_dir / "opencompass"))
    written.update(lighteval_export(items, exports_dir / "lighteval"))
    return written
