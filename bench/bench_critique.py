"""How right is what the review accepts? Precision and recall over the hand-labelled critique set.

The set (bench/data/critique_set.jsonl, see bench/data/README.md) holds real samples of the embedded 1.5B and
0.5B generators, each labelled correct / wrong by hand against its chunk, plus wrong pairs made from
correct ones. For each reviewer this reports, side by side:

- ``before``: the review as it was (lexical pre-check, then the rubric judge reading the whole chunk);
- ``after``: pre-check, the code checks (evidence located, key terms, facts, polarity), the extractive
  round trip and the judge reading only the located evidence; a failed check cannot be overruled;
- ``code``: the code checks alone (no model call at all), over the whole set.

Figures: precision of what is accepted (share labelled correct), recall (share of correct pairs accepted),
pairs without a verdict, per check how many pairs it failed and how many of those were wrong, calls, and
correct accepted samples per minute of build (generation time of those chunks, as measured when the set was
made, plus the review time measured here). The model runs are slow on a shared 2-core machine: ``--chunks``
takes a subsample of chunks (the same for before and after); verdicts are cached in ``--cache`` so an
interrupted run resumes.

Run:  python bench/bench_critique.py --reviewer qwen2.5-coder-1.5b --chunks 4 [--modes before,after]
      python bench/bench_critique.py --modes code           (no model: every pair, a second)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ftds.tools.config import BuildSettings, load_settings  # noqa: E402
from ftds.tools.generation.checks import NOT_RUN, first_failure, run_code_checks  # noqa: E402
from ftds.tools.generation.review import precheck, review_samples  # noqa: E402
from ftds.tools.records import Chunk, Provenance, Sample, content_hash  # noqa: E402

SET = REPO / "bench" / "data" / "critique_set.jsonl"
SWEEP: list[dict[str, tuple[float, float | None]]] = [
    # per language: (bar for a pair the round trip confirmed, bar for one it did not; None = rejected)
    {"zh": (0.93, None), "en": (0.83, None)},  # the thresholds before the answer check could overrule (aeeb577)
    {"zh": (0.92, 0.95), "en": (0.88, None)},  # bac264d
    *({"zh": (bar, bar), "en": (0.88, None)} for bar in (0.90, 0.92, 0.93)),  # the round trip moot in Chinese
    *({"zh": (0.92, 0.92), "en": (bar, None)} for bar in (0.80, 0.85, 0.90)),
]


def load_set(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def chunk_of(row: dict[str, Any]) -> Chunk:
    """The chunk a pair was written from, rebuilt from the set's own text and offsets."""
    chunk_id = content_hash(row["source"], str(row["char_start"]), row["chunk"])
    provenance = Provenance(
        source=row["source"],
        char_start=row["char_start"],
        char_end=row["char_end"],
        heading_path=row.get("heading_path", []),
        chunk_id=chunk_id,
    )
    return Chunk(chunk_id=chunk_id, doc_id=row["source"], index=0, text=row["chunk"], provenance=provenance)


def sample_of(row: dict[str, Any], chunk: Chunk) -> Sample:
    return Sample(
        sample_id=row["id"],
        question=row["question"],
        answer=row["answer"],
        domain="law",
        language=row.get("language"),
        provenance=chunk.provenance,
        model=row["model"],
        prompt_version=row.get("prompt_version", ""),
    )


def code_verdicts(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Pre-check and the code checks only: no model."""
    verdicts: dict[str, dict[str, Any]] = {}
    for row in rows:
        chunk = chunk_of(row)
        sample = sample_of(row, chunk)
        language = row.get("language") or "zh"
        reason = precheck(sample, chunk.text, language)
        checks: list[dict[str, Any]] = []
        if reason is None:
            results = run_code_checks(sample, chunk)
            checks = [c.model_dump() for c in results]
            failure = first_failure(results)
            reason = f"check:{failure.name}" if failure else None
        verdicts[row["id"]] = {"decision": "reject" if reason else "accept", "reason": reason or "", "checks": checks}
    return verdicts


def cached(cache: Path, reviewer: str, mode: str) -> dict[str, dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}
    if cache.exists():
        for line in cache.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if entry["reviewer"] == reviewer and entry["mode"] == mode:
                done[entry["id"]] = entry
    return done


async def model_verdicts(
    rows: list[dict[str, Any]],
    reviewer: str,
    mode: str,
    cache: Path,
    threads: int,
    reply_cache: Path | None = None,
    min_unconfirmed_probability: float | None = None,
    min_answer_probability: float | None = None,
) -> dict[str, dict[str, Any]]:
    """One review per chunk (all its pairs at once), as a build does; cached per (reviewer, mode, pair).
    Modes: ``before`` (the review before issue 14), ``after`` (checks, round trip and judge), ``checks`` (the
    same without the judge: what a build with the embedded reviewer runs). ``reply_cache`` keeps the model's
    replies, so a change to code that reads them is measured again without new calls. The two thresholds
    override the scoring prompt's own (None: the prompt's), so a lower bar can be measured once and stricter
    ones read off the verdicts' scores."""
    from ftds.tools.llm import make_chat_model

    done = cached(cache, reviewer, mode)
    by_chunk: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["id"] not in done:
            by_chunk[chunk_of(row).chunk_id].append(row)
    if not by_chunk:
        return done
    settings = load_settings(
        llm={"backend": "embedded", "model": reviewer, "n_threads": threads, "cache": reply_cache is not None}
    )
    build = BuildSettings(
        domain="law",
        round_trip=True,
        min_unconfirmed_probability=min_unconfirmed_probability,
        min_answer_probability=min_answer_probability,
    )
    llm = make_chat_model(settings.llm, reply_cache or Path(tempfile.gettempdir()) / "ftds-critique-cache")
    try:
        with cache.open("a", encoding="utf-8") as out:
            for members in by_chunk.values():
                chunk = chunk_of(members[0])
                samples = [sample_of(row, chunk) for row in members]
                started = time.perf_counter()
                result = await review_samples(
                    chunk,
                    samples,
                    llm,
                    build,
                    evidence_checks=mode != "before",
                    check_answers=mode != "before",
                    call_judge=mode != "checks",
                )
                seconds = time.perf_counter() - started
                failed = {item.item_id: item.reason for item in result.failed}
                rejected = {item.item_id: item.reason for item in result.rejected}
                for row, sample in zip(members, samples, strict=True):
                    if sample.sample_id in result.verdicts:
                        decision, reason = "accept", ""
                    elif sample.sample_id in result.to_revise:
                        decision, reason = "revise", result.to_revise[sample.sample_id].rationale[:120]
                    elif sample.sample_id in failed:
                        decision, reason = "failed", failed[sample.sample_id]
                    else:
                        decision, reason = "reject", rejected.get(sample.sample_id, "")
                    entry = {
                        "id": row["id"],
                        "reviewer": reviewer,
                        "mode": mode,
                        "decision": decision,
                        "reason": reason,
                        "checks": [c.model_dump() for c in sample.checks],
                        "chunk_seconds": round(seconds, 1),
                        "chunk_pairs": len(members),
                        "chunk_calls": result.usage.calls,
                    }
                    done[row["id"]] = entry
                    out.write(json.dumps(entry, ensure_ascii=False) + "\n")
                out.flush()
                print(f"{reviewer} {mode}: {len(members)} pairs in {seconds:.0f}s", file=sys.stderr, flush=True)
    finally:
        await llm.aclose()
    return done


def score(rows: list[dict[str, Any]], verdicts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Precision / recall of ``accept`` against the hand labels, plus per-check and per-reason counts."""
    judged = [row for row in rows if row["id"] in verdicts]
    accepted = [row for row in judged if verdicts[row["id"]]["decision"] == "accept"]
    correct = [row for row in judged if row["label"] == "correct"]
    hits = [row for row in accepted if row["label"] == "correct"]
    per_check: dict[str, Counter[str]] = defaultdict(Counter)
    for row in judged:
        for check in verdicts[row["id"]]["checks"]:
            if not check["passed"]:
                per_check[check["name"]]["failed"] += 1
                per_check[check["name"]]["failed_wrong" if row["label"] == "wrong" else "failed_correct"] += 1
    seconds: dict[tuple[str, float, int], float] = {}
    calls: dict[tuple[str, float, int], int] = {}
    for row in judged:
        entry = verdicts[row["id"]]
        if "chunk_seconds" in entry:
            # one review call set per (chunk, its time, its pairs): a chunk reviewed twice (the made-wrong
            # pairs added later) counts both reviews
            key = (chunk_of(row).chunk_id, entry["chunk_seconds"], entry["chunk_pairs"])
            seconds[key] = entry["chunk_seconds"]
            calls[key] = entry["chunk_calls"]
    return {
        "pairs": len(judged),
        "labelled_correct": len(correct),
        "accepted": len(accepted),
        "accepted_correct": len(hits),
        "precision": round(len(hits) / len(accepted), 3) if accepted else None,
        "recall": round(len(hits) / len(correct), 3) if correct else None,
        "no_verdict": sum(1 for row in judged if verdicts[row["id"]]["decision"] == "failed"),
        "reasons": dict(Counter(verdicts[row["id"]]["reason"].split(" ")[0] or "accept" for row in judged)),
        "per_check": {name: dict(counts) for name, counts in sorted(per_check.items())},
        "review_seconds": round(sum(seconds.values()), 1),
        "review_calls": sum(calls.values()),
        "chunks": len({chunk_of(row).chunk_id for row in judged}),
    }


def without(verdicts: dict[str, dict[str, Any]], check: str) -> dict[str, dict[str, Any]]:
    """The verdicts as they would be without the judge (``build.judge`` auto with the embedded reviewer): a pair
    the judge turned down after every check passed is accepted on the checks (a pair a check rejected was not
    shown to the judge, which accepted every pair it was shown with the embedded reviewer). Review time and
    calls stay those of the run with it."""
    derived: dict[str, dict[str, Any]] = {}
    for pair_id, entry in verdicts.items():
        checks = [c for c in entry["checks"] if c["name"] != check]
        judged = len(checks) < len(entry["checks"])
        passed = judged and all(c["passed"] for c in checks)
        derived[pair_id] = {**entry, "decision": "accept" if passed else entry["decision"], "checks": checks}
        if passed:
            derived[pair_id]["reason"] = ""
    return derived


_P_YES = re.compile(r"P\(yes\) ([0-9.]+)")


def _answer_score(checks: list[dict[str, Any]]) -> float | None:
    """The answer check's P(yes): its ``score`` field, or read from its detail (verdicts kept before the field)."""
    for check in checks:
        if check["name"] == "answers":
            if check.get("score") is not None:
                return float(check["score"])
            found = _P_YES.search(check["detail"])
            return float(found.group(1)) if found else None
    return None


def _trip_state(trip: dict[str, Any] | None) -> str:
    """'confirmed', 'unconfirmed', or 'unknown' (the round trip did not run: the answer check decided)."""
    if trip is None or trip["detail"].startswith(NOT_RUN):
        return "unknown"
    if trip["detail"].startswith("not confirmed") or not trip["passed"]:
        return "unconfirmed"
    return "confirmed"  # confirmed, or could not judge ("not counted": the question repeated) and let through


def answer_bar_sweep(
    rows: list[dict[str, Any]], verdicts: dict[str, dict[str, Any]], bars: list[dict[str, tuple[float, float | None]]]
) -> list[dict[str, Any]]:
    """Precision / recall the ``checks`` verdicts would have with other answer-check thresholds. Each entry of
    ``bars`` gives per language (confirmed, unconfirmed): a pair counts as accepted when every code check
    passed and its P(yes) reaches the confirmed bar when the round trip confirmed it, the unconfirmed bar when
    it did not (None: the round trip rejects it). No model call: the probabilities and round-trip verdicts are
    the ones the run recorded. Where the round trip did not run (the answer check rejected the pair, or its
    score made the round trip moot), a setting that would need its verdict counts the pair as rejected: the
    sweep never guesses a verdict in the pair's favour. A pair without a score keeps the run's decision."""
    labels = {row["id"]: row for row in rows}
    correct_total = sum(row["label"] == "correct" for row in rows if row["id"] in verdicts)
    table = []
    for setting in bars:
        accepted = correct = 0
        for pair_id, entry in verdicts.items():
            if entry["decision"] == "failed":
                continue
            checks = entry["checks"]
            code = [c for c in checks if c["name"] not in ("round_trip", "answers")]
            if not code or not all(c["passed"] for c in code):
                continue
            score = _answer_score(checks)
            if score is None:  # no score: not counted (kept as the run decided) or never scored
                if entry["decision"] != "accept":
                    continue
            else:
                confirmed_bar, unconfirmed_bar = setting[labels[pair_id].get("language", "en")]
                state = _trip_state(next((c for c in checks if c["name"] == "round_trip"), None))
                if state == "confirmed":
                    kept = score >= confirmed_bar
                else:  # unconfirmed, or unknown: only a score that needs no round trip keeps it
                    kept = unconfirmed_bar is not None and score >= max(unconfirmed_bar, confirmed_bar)
                if not kept:
                    continue
            accepted += 1
            correct += labels[pair_id]["label"] == "correct"
        table.append(
            {
                "bars": {lang: list(pair) for lang, pair in setting.items()},
                "accepted": accepted,
                "accepted_correct": correct,
                "precision": round(correct / accepted, 3) if accepted else None,
                "recall": round(correct / correct_total, 3) if correct_total else None,
            }
        )
    return table


def build_rate(rows: list[dict[str, Any]], result: dict[str, Any], generation_seconds: dict[str, float]) -> None:
    """Correct accepted generated samples per minute of build: generation + review time of those chunks."""
    chunks = {chunk_of(row).chunk_id for row in rows}
    minutes = (sum(generation_seconds.get(c, 0.0) for c in chunks) + result["review_seconds"]) / 60
    result["build_minutes"] = round(minutes, 1)
    if minutes and result["review_seconds"]:
        result["correct_accepted_per_minute"] = round(result["accepted_correct"] / minutes, 2)


def subsets(rows: list[dict[str, Any]], verdicts: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The same figures per labelling round and origin. Round 1 is the pairs the checks were designed on
    (in-sample); round 2 was generated and labelled after the checks were fixed (held out)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["id"] in verdicts:
            kind = "generated" if row.get("origin") == "generated" else "made_wrong"
            groups[f"round{row.get('round', 1)}"].append(row)
            groups[f"round{row.get('round', 1)}:{kind}"].append(row)
    return {name: score(members, verdicts) for name, members in sorted(groups.items())}


def pick_chunks(rows: list[dict[str, Any]], per_model: int | None) -> list[dict[str, Any]]:
    """``per_model`` chunks of each generator model, every pair on them; chunks carrying the most made-wrong
    (synthetic) pairs first, so a small subsample still holds both kinds of pair."""
    if per_model is None:
        return rows
    synthetic = Counter(chunk_of(row).chunk_id for row in rows if row.get("origin") == "synthetic")
    ordered = sorted(rows, key=lambda row: -synthetic[chunk_of(row).chunk_id])
    chosen: dict[str, list[str]] = defaultdict(list)
    for row in ordered:
        key = chunk_of(row).chunk_id
        mine = chosen[row["model"]]
        if row.get("origin") == "generated" and key not in mine and len(mine) < per_model:
            mine.append(key)
    keep = {key for keys in chosen.values() for key in keys}
    return [row for row in rows if chunk_of(row).chunk_id in keep]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", type=Path, default=SET)
    parser.add_argument("--reviewer", action="append", help="Embedded model key; repeatable.")
    parser.add_argument("--modes", default="code,before,after")
    parser.add_argument("--chunks", type=int, default=None, help="Chunks per generator model (subsample).")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=REPO / "bench" / "results" / "critique_verdicts.jsonl")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--cached-only", action="store_true", help="No model calls: score the pairs cached in every mode (a cut run)."
    )
    parser.add_argument(
        "--reply-cache", type=Path, default=None, help="Keep the reviewer's replies here (replay without new calls)."
    )
    parser.add_argument(
        "--min-unconfirmed-probability",
        dest="min_unconfirmed",
        type=float,
        default=None,
        help="build.min_unconfirmed_probability for the review (default: the prompt's own).",
    )
    parser.add_argument(
        "--min-answer-probability",
        dest="min_answer",
        type=float,
        default=None,
        help="build.min_answer_probability for the review (default: the prompt's own).",
    )
    args = parser.parse_args()
    rows = load_set(args.set)
    generation_seconds = {chunk_of(r).chunk_id: float(r.get("chunk_generation_seconds", 0.0)) for r in rows}
    shown = args.set.relative_to(REPO) if args.set.is_relative_to(REPO) else args.set
    report: dict[str, Any] = {"set": str(shown)}
    modes = args.modes.split(",")
    if "code" in modes:
        verdicts_code = code_verdicts(rows)
        report["code"] = score(rows, verdicts_code)
        report["code_subsets"] = {
            origin: score([r for r in rows if r.get("origin") == origin], verdicts_code)
            for origin in ("generated", "synthetic")
        }
        report["code_subsets"].update(subsets(rows, verdicts_code))
    subsample = pick_chunks(rows, args.chunks)
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    model_modes = [m for m in modes if m in ("before", "after", "checks")]
    for reviewer in args.reviewer or []:
        # chunk by chunk, both modes each: an interrupted run still compares before and after on the same pairs
        by_chunk: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in subsample:
            by_chunk[chunk_of(row).chunk_id].append(row)
        verdicts_by_mode: dict[str, dict[str, dict[str, Any]]] = {mode: {} for mode in model_modes}
        if args.cached_only:
            cached_modes = [cached(args.cache, reviewer, mode) for mode in model_modes]
            keep = set.intersection(*(set(c) for c in cached_modes)) if cached_modes else set()
            by_chunk = {key: [r for r in rows_ if r["id"] in keep] for key, rows_ in by_chunk.items()}
            by_chunk = {key: rows_ for key, rows_ in by_chunk.items() if rows_}
            subsample = [row for rows_ in by_chunk.values() for row in rows_]
        for members in by_chunk.values():
            for mode in model_modes:
                found = asyncio.run(
                    model_verdicts(
                        members,
                        reviewer,
                        mode,
                        args.cache,
                        args.threads,
                        args.reply_cache,
                        args.min_unconfirmed,
                        args.min_answer,
                    )
                )
                verdicts_by_mode[mode].update(found)
        if "after" in verdicts_by_mode:
            verdicts_by_mode["after_without_judge"] = without(verdicts_by_mode["after"], "judge")
        if "checks" in verdicts_by_mode:
            report[f"{reviewer}:answer_bar_sweep"] = answer_bar_sweep(subsample, verdicts_by_mode["checks"], SWEEP)
        for mode, verdicts in verdicts_by_mode.items():
            result = score(subsample, verdicts)
            build_rate([r for r in subsample if r.get("origin") == "generated"], result, generation_seconds)
            result["subsets"] = subsets(subsample, verdicts)
            report[f"{reviewer}:{mode}"] = result
    print(json.dumps(report, ensure_ascii=False, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
