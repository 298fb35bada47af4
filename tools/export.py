"""Write a finished dataset: one JSONL per split and format, a provenance sidecar and LLaMA-Factory's
``dataset_info.json``, each file written atomically so a crash never leaves a half file behind."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ftds.tools.formats import sample_to_record
from ftds.tools.records import Sample


def write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=2)
            handle.write("\n")
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def llamafactory_entry(file_name: str, fmt: str) -> dict[str, Any]:
    if fmt == "sharegpt":
        return {"file_name": file_name, "formatting": "sharegpt", "columns": {"messages": "conversations"}}
    return {
        "file_name": file_name,
        "columns": {"prompt": "instruction", "query": "input", "response": "output"},
    }


def export_splits(
    splits: Mapping[str, Sequence[Sample]], out_dir: Path, formats: Sequence[str], name: str = "ftds"
) -> dict[str, str]:
    """Write every split in every format; returns {label: path} of what was written."""
    written: dict[str, str] = {}
    info: dict[str, Any] = {}
    for split, samples in splits.items():
        if not samples:
            continue
        for fmt in formats:
            path = out_dir / fmt / f"{split}.jsonl"
            write_jsonl(path, (sample_to_record(s, fmt) for s in samples))
            written[f"{fmt}/{split}"] = str(path)
            info[f"{name}_{fmt}_{split}"] = llamafactory_entry(f"{fmt}/{split}.jsonl", fmt)
        sidecar = out_dir / "provenance" / f"{split}.jsonl"
        write_jsonl(sidecar, (s.model_dump(mode="json") for s in samples))
        written[f"provenance/{split}"] = str(sidecar)
    info_path = out_dir / "dataset_info.json"
    write_json(info_path, info)
    written["dataset_info"] = str(info_path)
    return written
