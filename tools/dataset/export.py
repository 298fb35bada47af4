"""The one exporter, for builds and for ``ftds-agent export``: trainer files per split, LLaMA-Factory's
``dataset_info.json``, a dataset card that names the entries really registered, and (builds) the provenance
sidecar, the task-shaped records and every rejected sample whole.

Every split is validated against its format's rules before anything is written; a split with an invalid
record is not written (the errors are returned), so no file leaves here that a trainer would reject. Each
file goes through the one atomic writer (:mod:`ftds.tools.dataset.files`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ftds.tools.dataset.files import write_json, write_jsonl, write_records, write_text
from ftds.tools.formats import REGISTRY, FormatError, sample_to_record, validate_records
from ftds.tools.records import Sample

if TYPE_CHECKING:  # the task table imports the generators; `export` and the server start without them
    from ftds.tools.generation.task_table import LlamaFactoryKind

BUILD_FORMATS = ("alpaca", "sharegpt", "openai")
# LLaMA-Factory reads OpenAI messages as ShareGPT with these tags (its data/README.md, "OpenAI Format").
OPENAI_TAGS = {
    "role_tag": "role",
    "content_tag": "content",
    "user_tag": "user",
    "assistant_tag": "assistant",
    "system_tag": "system",
}
# The columns of each single-turn format LLaMA-Factory's alpaca converter can read, as instruction records.
_ALPACA_COLUMNS: dict[str, dict[str, str]] = {
    "alpaca": {"prompt": "instruction", "query": "input", "response": "output"},
    "domain": {"prompt": "instruction", "query": "input", "response": "output"},
    "reward": {"prompt": "input", "response": "output"},
    "classification": {"prompt": "text", "response": "label"},
    "kto": {"prompt": "prompt", "response": "completion"},
    "pretrain": {"prompt": "text"},
}
_STAGES = {"sft": "sft", "ranking": "dpo", "kto": "kto", "pretrain": "pt"}
EntryKind = Literal["sft", "ranking", "kto", "pretrain"]


def entry_kind(fmt: str, records: Sequence[Mapping[str, Any]]) -> EntryKind:
    """What a trainer does with these records, decided by their keys in one place."""
    keys = set().union(*(r.keys() for r in records)) if records else set()
    if fmt == "pretrain":
        return "pretrain"
    if fmt == "kto" or "kto_tag" in keys:
        return "kto"
    if "chosen" in keys and "rejected" in keys:
        return "ranking"
    return "sft"


def llamafactory_entry(
    file_name: str, fmt: str, records: Sequence[Mapping[str, Any]], kind: LlamaFactoryKind | None = None
) -> dict[str, Any] | None:
    """The ``dataset_info.json`` entry LLaMA-Factory needs for these records, or None when it cannot read the
    format (``cot``'s step list, TRL's message-list preference, multimodal single files: convert those first).

    ``kind`` is the task table's registration for build files; for any other records it follows their keys.
    """
    keys = set().union(*(r.keys() for r in records)) if records else set()
    registration = kind or entry_kind(fmt, records)
    entry: dict[str, Any] = {"file_name": file_name}
    if fmt in ("sharegpt", "openai", "dialogue"):
        calls = fmt == "openai" and any(
            isinstance(m, dict) and m.get("tool_calls") for r in records for m in r.get("messages") or []
        )
        # OpenAI tool calls (assistant messages with tool_calls, content null) need LLaMA-Factory's own openai
        # converter; plain messages are ShareGPT with OpenAI's role/content tags, as its README documents.
        entry["formatting"] = "openai" if calls else "sharegpt"
        columns = {"messages": {"sharegpt": "conversations", "openai": "messages"}.get(fmt, fmt)}
        if fmt != "sharegpt":
            entry["tags"] = dict(OPENAI_TAGS) | ({"observation_tag": "tool"} if calls else {})
        optional: tuple[str, ...] = ("system", "tools", "images", "videos", "audios")
    elif fmt in _ALPACA_COLUMNS:
        columns = dict(_ALPACA_COLUMNS[fmt])
        optional = ("system", "history", "tools", "images", "videos", "audios") if fmt in ("alpaca", "domain") else ()
        if fmt == "reward":
            optional = ("system",)
    else:
        return None
    columns |= {k: k for k in optional if k in keys}
    if fmt != "sharegpt":
        columns.pop("tools", None)  # OpenAI tools are objects; LLaMA-Factory wants a JSON string
    if registration == "ranking":
        entry["ranking"] = True
        columns.pop("response", None)
        columns |= {"chosen": "chosen", "rejected": "rejected"}
    elif registration == "kto":
        columns["kto_tag"] = "label" if fmt == "kto" else "kto_tag"
    entry["columns"] = columns
    return entry


def task_record(sample: Sample) -> dict[str, Any]:
    """The sample in its task's own record shape (``TASKS[task].record_format``), ``id`` included."""
    from ftds.tools.generation.task_table import task_spec

    return sample_to_record(sample, task_spec(sample.task).record_format)


def openai_finetune_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """OpenAI's fine-tuning JSONL keeps only ``messages`` (and ``tools``): other keys are rejected there."""
    out: dict[str, Any] = {"messages": record["messages"]}
    if record.get("tools"):
        out["tools"] = record["tools"]
    return out


# --- the card --------------------------------------------------------------------------------------------


@dataclass
class CardInfo:
    name: str = "ftds-dataset"
    license: str = "other"
    languages: list[str] = field(default_factory=list)
    task_categories: list[str] = field(default_factory=lambda: ["text-generation"])
    description: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, dict[str, int]] = field(default_factory=dict)
    """{check: {"passed": n, "failed": m}} over the build's samples (the card's Checks section)."""


@dataclass
class Registered:
    """What one format of an export registered: its data files by split and its dataset_info keys by split."""

    fmt: str
    data_files: dict[str, str] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    stage: str = "sft"


def _size_category(count: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if count < limit:
            return label
    return "1M<n<10M"


def _usage(part: Registered) -> str:
    """How to train on one registered format, naming the keys written to dataset_info.json."""
    if not part.keys:
        return (
            f"- **{part.fmt}**: LLaMA-Factory cannot read this format directly; convert it first, e.g. "
            f"`ftds-agent convert FILE --to alpaca`."
        )
    train = part.keys.get("train") or next(iter(part.keys.values()))
    line = f"- **{part.fmt}**: `stage: {part.stage}`, `dataset: {train}`"
    if "validation" in part.keys:
        line += f", `eval_dataset: {part.keys['validation']}`"
    others = [key for split, key in part.keys.items() if split not in ("train", "validation")]
    if others:
        line += f" (also registered: {', '.join(f'`{k}`' for k in others)})"
    return line


def dataset_card(info: CardInfo, parts: Sequence[Registered], counts: Mapping[str, int]) -> str:
    """README.md with Hugging Face YAML metadata (one config per format) and how to train with LLaMA-Factory."""
    import yaml

    configs = []
    for index, part in enumerate(p for p in parts if p.data_files):
        config: dict[str, Any] = {
            "config_name": part.fmt if len(parts) > 1 else "default",
            "data_files": [{"split": s, "path": path} for s, path in part.data_files.items() if s != "full"],
        }
        if len(parts) > 1 and index == 0:
            config["default"] = True
        configs.append(config)
    meta: dict[str, Any] = {
        "license": info.license,
        "language": info.languages or None,
        "task_categories": info.task_categories,
        "size_categories": [_size_category(sum(v for k, v in counts.items() if k != "full"))],
        "pretty_name": info.name,
        "configs": configs,
    }
    meta = {k: v for k, v in meta.items() if v is not None}
    rows = "\n".join(f"| {split} | {count} |" for split, count in counts.items())
    formats = ", ".join(f"**{p.fmt}** ({REGISTRY[p.fmt].summary})" for p in parts)
    provenance = json.dumps(info.provenance, ensure_ascii=False, indent=2) if info.provenance else "{}"
    usage = "\n".join(_usage(p) for p in parts)
    checks = ""
    if info.checks:
        lines = "\n".join(
            f"| {name} | {c['passed']} | {c['failed']} | {c.get('not_counted', 0)} |"
            for name, c in sorted(info.checks.items())
        )
        checks = (
            "\n## Checks\n\nEvery sample was checked against its source by code (and a judge); samples, accepted "
            'and rejected, by check ("not counted": the check gave no verdict, or was not run because the answer check '
            "decided; the others decided):\n\n"
            f"| check | passed | failed | not counted |\n|---|---|---|---|\n{lines}\n"
        )
    return (
        f"---\n{yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)}---\n\n"
        f"# {info.name}\n\n{info.description or 'Fine-tuning dataset exported by ftds.'}\n\n"
        f"Format: {formats}.\n\n| split | records |\n|---|---|\n{rows}\n\n"
        "## Use with LLaMA-Factory\n\nSet `dataset_dir` to this folder (or copy the entries of its "
        "`dataset_info.json` into yours), then train with:\n\n"
        f"{usage}\n{checks}\n## Provenance\n\n```json\n{provenance}\n```\n"
    )


# --- writing ---------------------------------------------------------------------------------------------


@dataclass
class Exported:
    files: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    errors: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # split -> invalid records
    notes: list[str] = field(default_factory=list)
    dataset_info: dict[str, Any] = field(default_factory=dict)  # what dataset_info.json holds


def _write_format(
    result: Exported,
    splits: Mapping[str, Sequence[dict[str, Any]]],
    out_dir: Path,
    folder: str,
    fmt: str,
    file_types: Sequence[str],
    key_prefix: str,
    kind: LlamaFactoryKind | None = None,
) -> Registered:
    """Validate, write and register every non-empty split of one format under ``out_dir/folder``."""
    part = Registered(fmt)
    label = "" if folder == "data" else f"{folder}/"
    for split, records in splits.items():
        if not records:
            continue
        report = validate_records(list(records), fmt)
        if report.errors:
            result.errors[f"{label}{split}"] = report.errors
            result.notes.append(f"{label}{split}: {len(report.errors)} invalid record(s); split not written")
            continue
        result.counts[split] = len(records)
        for file_type in file_types:
            relative = f"{folder}/{split}.{file_type}"
            write_records(out_dir / relative, records, file_type)
            result.files[f"{label}{split}.{file_type}" if folder == "data" else f"{folder}/{split}"] = str(
                out_dir / relative
            )
        main_file = f"{folder}/{split}.{file_types[0]}"
        part.data_files[split] = main_file
        entry = llamafactory_entry(main_file, fmt, records, kind)
        if entry is not None:
            key = f"{key_prefix}_{split}"
            result.dataset_info[key] = entry
            part.keys[split] = key
            registration = "ranking" if entry.get("ranking") else kind or entry_kind(fmt, records)
            part.stage = _STAGES[registration]
    if part.data_files and not part.keys:
        result.notes.append(f"LLaMA-Factory cannot load the {fmt!r} format directly: not in dataset_info.json")
    return part


def _write_info_and_card(result: Exported, out_dir: Path, card: CardInfo, parts: Sequence[Registered]) -> None:
    if result.dataset_info:
        write_json(out_dir / "dataset_info.json", result.dataset_info)
        result.files["dataset_info"] = str(out_dir / "dataset_info.json")
    if any(p.data_files for p in parts):
        write_text(out_dir / "README.md", dataset_card(card, parts, result.counts))
        result.files["card"] = str(out_dir / "README.md")


def export_dataset(
    splits: Mapping[str, Sequence[dict[str, Any]]],
    out_dir: Path,
    fmt: str,
    file_types: Sequence[str] = ("jsonl",),
    card: CardInfo | None = None,
    save_to_disk: bool = True,
    openai_finetune: bool = False,
) -> Exported:
    """Export records already in format ``fmt``: ``data/{split}.{type}``, dataset_info.json (keys
    ``{name}_{split}``), the card, optionally a ``DatasetDict`` (``hf/``) and OpenAI fine-tuning JSONL."""
    card = card or CardInfo()
    result = Exported()
    part = _write_format(result, splits, out_dir, "data", fmt, file_types, card.name)
    valid = {split: list(splits[split]) for split in part.data_files}
    if openai_finetune and fmt == "openai":
        for split, records in valid.items():
            path = out_dir / "openai" / f"{split}.jsonl"
            write_jsonl(path, (openai_finetune_record(r) for r in records))
            result.files[f"openai/{split}"] = str(path)
    _write_info_and_card(result, out_dir, card, [part])
    if save_to_disk and valid:
        import datasets

        try:
            ddict = datasets.DatasetDict({k: datasets.Dataset.from_list(v) for k, v in valid.items() if k != "full"})
            ddict.save_to_disk(str(out_dir / "hf"))
            result.files["datasetdict"] = str(out_dir / "hf")
        except (ValueError, TypeError, OSError) as exc:  # Arrow cannot type a column
            result.notes.append(f"DatasetDict not saved: {exc}")
    return result


def _records(
    samples: Sequence[Sample], fmt: str, result: Exported, split: str, *, context: bool = False
) -> list[dict[str, Any]]:
    """Each sample as a ``fmt`` record (with its located evidence as context when ``context``); one that breaks
    the format is reported, never silently dropped."""
    from ftds.tools.generation.context import with_context

    records = []
    for index, sample in enumerate(samples):
        try:
            record = sample_to_record(sample, fmt)
            records.append(with_context(record, sample) if context else record)
        except FormatError as exc:
            result.errors.setdefault(f"{fmt}/{split}", []).append((index, f"{sample.sample_id}: {exc}"))
            result.notes.append(f"{fmt}/{split}: sample {sample.sample_id} left out, it breaks the format: {exc}")
    return records


def export_build(
    splits: Mapping[str, Sequence[Sample]],
    out_dir: Path,
    task: str,
    formats: Sequence[str],
    card: CardInfo,
    *,
    with_context: bool = False,
) -> Exported:
    """Export a build's accepted samples: ``{format}/{split}.jsonl`` per trainer format (registered as
    ``{name}_{format}_{split}``; with ``with_context`` each record carries its located evidence as the passage
    to answer from, for retrieval-augmented fine-tuning), ``task/{split}.jsonl`` in the task's own record shape,
    and ``provenance/{split}.jsonl`` with every sample whole (the files' ``id`` column points into it)."""
    from ftds.tools.generation.task_table import task_spec

    spec = task_spec(task)
    result = Exported()
    parts = []
    for fmt in formats:
        records = {
            split: _records(samples, fmt, result, split, context=with_context) for split, samples in splits.items()
        }
        parts.append(
            _write_format(result, records, out_dir, fmt, fmt, ("jsonl",), f"{card.name}_{fmt}", spec.llamafactory)
        )
    for split, samples in splits.items():
        if not samples:
            continue
        task_records = _records(samples, spec.record_format, result, split)
        result.files[f"task/{split}"] = str(out_dir / "task" / f"{split}.jsonl")
        write_jsonl(out_dir / "task" / f"{split}.jsonl", task_records)
        sidecar = out_dir / "provenance" / f"{split}.jsonl"
        write_jsonl(sidecar, (s.model_dump(mode="json") for s in samples))
        result.files[f"provenance/{split}"] = str(sidecar)
        result.counts[split] = len(samples)
    _write_info_and_card(result, out_dir, card, parts)
    return result


def write_rejected(out_dir: Path, samples: Sequence[Sample]) -> str:
    """``rejected.jsonl``: every rejected sample whole (answer, scores, checks) with its ``rejection`` set, so it
    can be read, audited or rescued. Written even when empty, so its absence never means "not recorded"."""
    for sample in samples:
        if sample.rejection is None:
            raise ValueError(f"sample {sample.sample_id} has no rejection reason; set Sample.rejection first")
    path = out_dir / "rejected.jsonl"
    write_jsonl(path, (s.model_dump(mode="json") for s in samples))
    return str(path)


def push_to_hub(
    out_dir: Path, repo_id: str, token: str | None = None, private: bool = True, endpoint: str | None = None
) -> str:
    """Upload an exported folder as a Hub dataset repo; the token comes from the argument or HF_TOKEN."""
    from huggingface_hub import HfApi

    token = token or os.environ.get("HF_TOKEN")
    if not token:
        raise PermissionError("no Hugging Face token: set HF_TOKEN (a write token) to push to the Hub")
    api = HfApi(token=token, endpoint=endpoint)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    commit = api.upload_folder(
        folder_path=str(out_dir),
        repo_id=repo_id,
        repo_type="dataset",
        ignore_patterns=["hf/*", "*.tmp", ".ftds-manifest.json"],
    )
    return str(getattr(commit, "commit_url", commit))
