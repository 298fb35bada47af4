"""Which yes/no prompt lets the embedded 1.5B's P(yes) separate correct from wrong pairs? (issue 14)

The experiment behind the answer check (``tools/generation/answer_check.py``). For every labelled pair that
passes the code checks, it evaluates each candidate prompt on the model and reads P(yes) / (P(yes) + P(no))
from the first reply token's logits (no sampling), then reports the AUC of that score against the hand labels,
per round and language. Results are kept in ``--out`` (one line per pair, every variant; a pair scored before
a variant existed is completed), so a cut run resumes and ``--report`` re-reads them without the model.

    python bench/bench_answer_prompts.py --out bench/results/answer_prompts_1.5b.jsonl --rounds 1,2,3,4
    python bench/bench_answer_prompts.py --out bench/results/answer_prompts_1.5b.jsonl --report
    python bench/bench_answer_prompts.py --out bench/results/answer_prompts_en_1.5b.jsonl \
        --rounds 12,13,14,15,16,17,18,19,20 --languages en    # round 21: the English variants

The prompts are written out in ChatML, the chat template of Qwen2.5, exactly as the product's llama.cpp chat
template renders them (the product's P(yes) on a Chinese pair is the ``zh_evidence`` figure here, on an
English pair the ``chunk`` figure: ``qa_verify.en@2``; ``en_evidence`` is ``qa_verify.en@1``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from bench_critique import SET, chunk_of, code_verdicts, load_set, sample_of  # noqa: E402

from ftds.tools.generation.checks import run_code_checks  # noqa: E402
from ftds.tools.generation.evidence import evidence_text  # noqa: E402

SYSTEM = "You are a strict examiner of question-answer pairs written from legal texts."
VARIANTS = {
    "en_evidence": "Source passage:\n{evidence}\n\nQuestion: {question}\nProposed answer: {answer}\n\nAccording to the "
    "source passage, is the proposed answer a correct and direct answer to exactly what the question asks? "
    "Answer yes or no.",
    "zh_evidence": "资料：\n{evidence}\n\n问题：{question}\n答案：{answer}\n\n"
    "根据资料，这个答案是否正确、并且直接回答了问题所问的内容？只回答“是”或“否”。",
    "chunk": "Source text:\n{chunk}\n\nQuestion: {question}\nProposed answer: {answer}\n\nAccording to the source "
    "text, is the proposed answer a correct and direct answer to exactly what the question asks? Answer yes or no.",
    # round 21: the English prompt was chosen on 48 pairs of rounds 1-5; on the held-out English pairs of rounds
    # 12-20 its P(yes) separated little (AUC 0.62). These name what the English losses are: an answer that only
    # restates the question, says where a rule is set out, or leans on something the question never names.
    "en_specific": "Source text:\n{chunk}\n\nQuestion: {question}\nProposed answer: {answer}\n\nDoes the proposed "
    "answer give the specific information the question asks for, as the source text states it, rather than "
    "repeating the question's own words or saying where the rule is set out? Answer yes or no.",
    "en_evidence_specific": "Source passage:\n{evidence}\n\nQuestion: {question}\nProposed answer: {answer}\n\n"
    "Does the proposed answer give the specific information the question asks for, as the source passage "
    "states it, rather than repeating the question's own words or saying where the rule is set out? Answer yes "
    "or no.",
}
ONLY_ZH = {"zh_evidence"}
ONLY_EN = {"en_specific", "en_evidence_specific"}


def auc(scored: list[tuple[float, str]]) -> float | None:
    """Probability that a correct pair outscores a wrong one (ties count half)."""
    correct = [p for p, label in scored if label == "correct"]
    wrong = [p for p, label in scored if label == "wrong"]
    if not correct or not wrong:
        return None
    wins = sum((c > w) + 0.5 * (c == w) for c in correct for w in wrong)
    return wins / (len(correct) * len(wrong))


class Scorer:
    def __init__(self, model_path: Path, threads: int) -> None:
        import numpy as np
        from llama_cpp import Llama

        self.np = np
        self.llama = Llama(model_path=str(model_path), n_ctx=4096, n_threads=threads, verbose=False)
        self.yes, self.no = (
            self._ids(["yes", "Yes", " yes", " Yes", "YES", "是"]),
            self._ids(["no", "No", " no", " No", "NO", "否"]),
        )

    def _ids(self, words: list[str]) -> list[int]:
        found = {t[0] for w in words if len(t := self.llama.tokenize(w.encode(), add_bos=False, special=False)) == 1}
        return sorted(found)

    def p_yes(self, prompt: str) -> tuple[float, float]:
        import llama_cpp

        text = f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"
        tokens = self.llama.tokenize(text.encode(), add_bos=False, special=True)
        self.llama.reset()
        self.llama.eval(tokens)
        logits = self.np.ctypeslib.as_array(
            llama_cpp.llama_get_logits_ith(self.llama.ctx, -1), shape=(self.llama.n_vocab(),)
        ).astype(self.np.float64)
        weights = self.np.exp(logits - logits.max())
        weights /= weights.sum()
        yes, no = float(weights[self.yes].sum()), float(weights[self.no].sum())
        return yes / (yes + no), yes + no


def run(out: Path, rounds: set[int], threads: int, model_path: Path, languages: set[str] | None = None) -> None:
    rows = [r for r in load_set(SET) if r.get("round", 1) in rounds]
    verdicts = code_verdicts(rows)
    # an entry scored before a variant existed (round 1's Chinese pairs predate zh_evidence) is completed in place
    kept = {e["id"]: e for e in (json.loads(line) for line in out.read_text().splitlines())} if out.exists() else {}

    def wanted(row: dict[str, Any]) -> list[str]:
        language = row.get("language")
        names = [n for n in VARIANTS if (n not in ONLY_ZH or language == "zh")]
        names = [n for n in names if n not in ONLY_EN or language == "en"]
        names = [n for n in names if languages is None or language in languages]
        return [name for name in names if name not in kept.get(row["id"], {})]

    todo = [r for r in rows if verdicts[r["id"]]["decision"] == "accept" and wanted(r)]
    scorer = Scorer(model_path, threads)
    for row in todo:
        chunk = chunk_of(row)
        sample = sample_of(row, chunk)
        run_code_checks(sample, chunk)
        values = {"evidence": evidence_text(sample.evidence), "chunk": row["chunk"]}
        values |= {"question": row["question"], "answer": row["answer"]}
        entry: dict[str, Any] = kept.get(row["id"]) or {
            k: row.get(k) for k in ("id", "label", "reason", "round", "language", "origin")
        }
        for name in wanted(row):
            entry[name] = scorer.p_yes(VARIANTS[name].format(**values))
        kept[row["id"]] = entry
        out.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in kept.values()), encoding="utf-8")
        print(f"{row['id']} {row['label']}: " + ", ".join(f"{k} {entry[k][0]:.3f}" for k in VARIANTS if k in entry))


def report(out: Path) -> None:
    entries = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        groups[f"round {entry['round']} {entry['language']}"].append(entry)
        groups[f"round {entry['round']}"].append(entry)
        groups[f"all {entry['language']}"].append(entry)
    print("| pairs | n (correct / wrong) | " + " | ".join(VARIANTS) + " |")
    print("|---|---|" + "---|" * len(VARIANTS))
    for name in sorted(groups):
        members = groups[name]
        counts = f"{sum(e['label'] == 'correct' for e in members)} / {sum(e['label'] == 'wrong' for e in members)}"
        cells = []
        for variant in VARIANTS:
            scored = [(e[variant][0], e["label"]) for e in members if variant in e]
            value = auc(scored)
            cells.append(f"{value:.2f} ({len(scored)})" if value is not None else "–")
        print(f"| {name} | {counts} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rounds", default="1,2,3,4")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", type=Path, default=Path.home() / ".cache/ftds/models/qwen2.5-coder-1.5b-q4_k_m.gguf")
    parser.add_argument("--languages", default="", help="Only pairs of these languages (zh,en); default all.")
    parser.add_argument("--report", action="store_true", help="Only report the AUCs of what --out holds.")
    args = parser.parse_args()
    if not args.report:
        languages = set(args.languages.split(",")) if args.languages else None
        run(args.out, {int(r) for r in args.rounds.split(",")}, args.threads, args.model, languages)
    report(args.out)


if __name__ == "__main__":
    main()
