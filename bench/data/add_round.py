"""Turn a raw generation round (generate_critique_set.py output) into labelled-set rows, and merge hand labels.

Two steps, with the hand labelling between them (labellers see the chunk and the pair, never a check verdict):

    python bench/data/add_round.py rows raw-r3.jsonl --round 3 --out to-label.jsonl
        one unlabelled row per sample the generator wrote, in the set's fields (README.md)
    python bench/data/add_round.py merge to-label.jsonl labels.jsonl
        labels.jsonl: {"id", "label": "correct"|"wrong", "reason", "note"} per row; every row must have one;
        the labelled rows are appended to critique_set.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "build" / "typecheck"))
sys.path.insert(0, str(REPO / "bench" / "data"))

from generate_critique_set import DOCUMENTS  # noqa: E402

from ftds.tools.records import content_hash  # noqa: E402

SET = REPO / "bench" / "data" / "critique_set.jsonl"
REASONS = {
    "unsupported",
    "does_not_answer",
    "wrong_entity",
    "wrong_number",
    "inverted_rule",
    "swapped_condition",
    "neighbouring_article",
    "invented_citation",
    "statement_as_question",
    "not_self_contained",
}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def rows(raw: Path, round_number: int) -> list[dict[str, Any]]:
    """Every sample of every chunk of ``raw``, as an unlabelled row of the set."""
    out: list[dict[str, Any]] = []
    for chunk in read_jsonl(raw):
        document = next(d for d in DOCUMENTS if d.endswith("/" + chunk["source"]))
        for position, sample in enumerate(chunk["samples"]):  # the position keeps duplicates apart
            # the generator's prompt is chosen by the chunk's language ("qa_generate.en@4"): a document outside
            # law_zh / law_en (the DOJ handbook) is English too
            language = "en" if ".en@" in sample["prompt_version"] else "zh"
            where = (chunk["source"], str(chunk["char_start"]))
            out.append(
                {
                    "id": "g-" + content_hash(*where, str(position), sample["question"], sample["answer"], length=12),
                    "origin": "generated",
                    "model": chunk["model"],
                    "prompt_version": sample["prompt_version"],
                    "language": language,
                    "document": document,
                    "source": chunk["source"],
                    "char_start": chunk["char_start"],
                    "char_end": chunk["char_end"],
                    "heading_path": chunk["heading_path"],
                    "chunk": chunk["chunk"],
                    "question": sample["question"],
                    "answer": sample["answer"],
                    "generator_quote": sample["generator_quote"],
                    "chunk_generation_seconds": chunk["seconds"],
                    "chunk_pairs": len(chunk["samples"]),
                    "round": round_number,
                }
            )
    return out


def merge(unlabelled: Path, labels: Path) -> int:
    """Append the labelled rows to the set; refuses a missing, unknown or malformed label."""
    given = {entry["id"]: entry for entry in read_jsonl(labels)}
    todo = read_jsonl(unlabelled)
    known = {row["id"] for row in read_jsonl(SET)}
    problems = [f"{row['id']}: no label" for row in todo if row["id"] not in given]
    problems += [f"{i}: not a row of {unlabelled.name}" for i in set(given) - {row["id"] for row in todo}]
    problems += [f"{row['id']}: already in the set" for row in todo if row["id"] in known]
    for entry in given.values():
        if entry.get("label") not in ("correct", "wrong"):
            problems.append(f"{entry['id']}: label must be correct or wrong")
        elif entry["label"] == "wrong" and entry.get("reason") not in REASONS:
            problems.append(f"{entry['id']}: a wrong pair needs one of the reasons {sorted(REASONS)}")
        elif not entry.get("note"):
            problems.append(f"{entry['id']}: a one-line note is needed")
    if problems:
        sys.exit("not merged:\n" + "\n".join(problems))
    with SET.open("a", encoding="utf-8") as out:
        for row in todo:
            entry = given[row["id"]]
            labelled = {**row, "label": entry["label"], "reason": entry.get("reason", ""), "note": entry["note"]}
            out.write(json.dumps(labelled, ensure_ascii=False) + "\n")
    return len(todo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    make = sub.add_parser("rows")
    make.add_argument("raw", type=Path)
    make.add_argument("--round", type=int, required=True)
    make.add_argument("--out", type=Path, required=True)
    join = sub.add_parser("merge")
    join.add_argument("unlabelled", type=Path)
    join.add_argument("labels", type=Path)
    args = parser.parse_args()
    if args.step == "rows":
        made = rows(args.raw, args.round)
        args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in made), encoding="utf-8")
        print(f"{len(made)} rows to label -> {args.out}")
    else:
        print(f"{merge(args.unlabelled, args.labels)} labelled rows added to {SET}")


if __name__ == "__main__":
    main()
