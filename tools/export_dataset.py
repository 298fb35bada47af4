"""Export any converted dataset: files per split (JSON/JSONL/CSV/Parquet), a ``DatasetDict`` on disk, a
dataset card with YAML metadata, LLaMA-Factory's ``dataset_info.json`` and OpenAI fine-tuning JSONL.

Every split is validated against the format's rules first; a split with invalid records is not written
(the errors are returned), so no file leaves here that a trainer would reject.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftds.tools.export import write_json, write_jsonl
from ftds.tools.formats import REGISTRY, validate_records

FILE_TYPES = ("jsonl", "json", "csv", "parquet")
_LF_ROLE_TAGS = {
    "role_tag": "role",
    "content_tag": "content",
    "user_tag": "user",
    "assistant_tag": "assistant",
    "observation_tag": "tool",
    "function_tag": "function_call",
    "system_tag": "system",
}


def _atomic_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_records(path: Path, records: Sequence[Mapping[str, Any]], file_type: str) -> None:
    """One file of records, atomically. CSV cells holding lists/objects are JSON-encoded."""
    if file_type == "jsonl":
        write_jsonl(path, records)
    elif file_type == "json":
        write_json(path, list(records))
    elif file_type == "csv":
        columns = list(dict.fromkeys(key for record in records for key in record))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns)
        writer.writeheader()
        for record in records:
            writer.writerow(
                {k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v for k, v in record.items()}
            )
        _atomic_bytes(path, buffer.getvalue().encode("utf-8"))
    elif file_type == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        sink = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pylist(list(records)), sink)
        _atomic_bytes(path, sink.getvalue().to_pybytes())
    else:
        raise ValueError(f"unknown file type {file_type!r}; choose one of {', '.join(FILE_TYPES)}")


def llamafactory_entry_for(file_name: str, fmt: str, records: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The dataset_info.json entry LLaMA-Factory needs for these records, or None if it cannot load the format."""
    keys = set().union(*(r.keys() for r in records)) if records else set()
    optional = [k for k in ("system", "tools", "images", "videos", "audios") if k in keys]
    ranking = "chosen" in keys and "rejected" in keys
    entry: dict[str, Any] = {"file_name": file_name}
    columns: dict[str, str] = {}
    if fmt in ("alpaca", "domain", "cot"):
        if fmt == "cot":
            return None  # LLaMA-Factory would ignore chain_of_thought: export alpaca (<think> in output) instead
        columns = {"prompt": "instruction", "query": "input"}
        if not ranking:
            columns["response"] = "output"
        if "history" in keys:
            columns["history"] = "history"
    elif fmt in ("sharegpt", "openai"):
        entry["formatting"] = "sharegpt" if fmt == "sharegpt" else "openai"
        columns = {"messages": "conversations" if fmt == "sharegpt" else "messages"}
        if fmt == "openai":
            entry["tags"] = dict(_LF_ROLE_TAGS)
            optional = [k for k in optional if k != "tools"]  # OpenAI tools are objects; LF wants a JSON string
    elif fmt == "reward":
        columns = {"prompt": "input", "response": "output"}
    elif fmt == "classification":
        columns = {"prompt": "text", "response": "label"}
    elif fmt == "pretrain":
        columns = {"prompt": "text"}
    else:
        return None
    columns.update({k: k for k in optional})
    if ranking:
        entry["ranking"] = True
        columns.update({"chosen": "chosen", "rejected": "rejected"})
    if "kto_tag" in keys:
        columns["kto_tag"] = "kto_tag"
    entry["columns"] = columns
    return entry


def openai_finetune_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """OpenAI's fine-tuning JSONL keeps only ``messages`` (and ``tools``): other keys are rejected there."""
    out: dict[str, Any] = {"messages": record["messages"]}
    if record.get("tools"):
        out["tools"] = record["tools"]
    return out


@dataclass
class CardInfo:
    name: str = "ftds-dataset"
    license: str = "other"
    languages: list[str] = field(default_factory=list)
    task_categories: list[str] = field(default_factory=lambda: ["text-generation"])
    description: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)


def _size_category(count: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if count < limit:
            return label
    return "1M<n<10M"


def dataset_card(info: CardInfo, fmt: str, counts: Mapping[str, int], data_files: Mapping[str, str]) -> str:
    import yaml

    meta: dict[str, Any] = {
        "license": info.license,
        "language": info.languages or None,
        "task_categories": info.task_categories,
        "size_categories": [_size_category(sum(v for k, v in counts.items() if k != "full"))],
        "pretty_name": info.name,
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": split, "path": path} for split, path in data_files.items()],
            }
        ],
    }
    meta = {k: v for k, v in meta.items() if v is not None}
    rows = "\n".join(f"| {split} | {count} |" for split, count in counts.items())
    provenance = json.dumps(info.provenance, ensure_ascii=False, indent=2) if info.provenance else "{}"
    return (
        f"---\n{yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)}---\n\n"
        f"# {info.name}\n\n{info.description or 'Fine-tuning dataset exported by ftds.'}\n\n"
        f"Format: **{fmt}** ({REGISTRY[fmt].summary}).\n\n| split | records |\n|---|---|\n{rows}\n\n"
        "## Use with LLaMA-Factory\n\nCopy this folder's `dataset_info.json` entries, then train with "
        f"`dataset: {info.name}_train` and evaluate with `eval_dataset: {info.name}_validation`.\n\n"
        f"## Provenance\n\n```json\n{provenance}\n```\n"
    )


@dataclass
class ExportResult:
    files: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    errors: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # split -> invalid records
    notes: list[str] = field(default_factory=list)


def export_dataset(
    splits: Mapping[str, Sequence[dict[str, Any]]],
    out_dir: Path,
    fmt: str,
    file_types: Sequence[str] = ("jsonl",),
    card: CardInfo | None = None,
    save_to_disk: bool = True,
    openai_finetune: bool = False,
) -> ExportResult:
    """Write every non-empty split that validates; report the ones that do not, with per-record errors."""
    card = card or CardInfo()
    result = ExportResult()
    info: dict[str, Any] = {}
    data_files: dict[str, str] = {}
    valid: dict[str, list[dict[str, Any]]] = {}
    for split, records in splits.items():
        if not records:
            continue
        report = validate_records(list(records), fmt)
        if report.errors:
            result.errors[split] = report.errors
            result.notes.append(f"{split}: {len(report.errors)} invalid record(s); split not written")
            continue
        valid[split] = list(records)
        result.counts[split] = len(records)
        for file_type in file_types:
            relative = f"data/{split}.{file_type}"
            write_records(out_dir / relative, records, file_type)
            result.files[f"{split}.{file_type}"] = str(out_dir / relative)
        main_file = f"data/{split}.{file_types[0]}"
        if split != "full":
            data_files[split] = main_file
        entry = llamafactory_entry_for(main_file, fmt, records)
        if entry is not None:
            info[f"{card.name}_{split}"] = entry
        if openai_finetune and fmt == "openai":
            path = out_dir / "openai" / f"{split}.jsonl"
            write_jsonl(path, (openai_finetune_record(r) for r in records))
            result.files[f"openai/{split}"] = str(path)
    if info:
        write_json(out_dir / "dataset_info.json", info)
        result.files["dataset_info"] = str(out_dir / "dataset_info.json")
    elif valid:
        result.notes.append(f"LLaMA-Factory cannot load the {fmt!r} format directly: no dataset_info.json written")
    if valid:
        readme = out_dir / "README.md"
        _atomic_bytes(readme, dataset_card(card, fmt, result.counts, data_files).encode("utf-8"))
        result.files["card"] = str(readme)
    if save_to_disk and valid:
        import datasets

        try:
            ddict = datasets.DatasetDict({k: datasets.Dataset.from_list(v) for k, v in valid.items() if k != "full"})
            ddict.save_to_disk(str(out_dir / "hf"))
            result.files["datasetdict"] = str(out_dir / "hf")
        except (ValueError, TypeError, OSError) as exc:  # Arrow cannot type a column
            result.notes.append(f"DatasetDict not saved: {exc}")
    return result


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
        folder_path=str(out_dir), repo_id=repo_id, repo_type="dataset", ignore_patterns=["hf/*", "*.tmp"]
    )
    return str(getattr(commit, "commit_url", commit))
