"""Read datasets users already have: JSON, JSONL, CSV, Parquet, a ``datasets`` folder or a Hub id.

Every source becomes a list of plain dict records; a field mapping renames custom columns to the names a
format expects (``{"instruction": "question", "output": "answer"}``), so any shape can enter the converter.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ftds.tools.formats.model import FormatError

_FILE_SUFFIXES = (".json", ".jsonl", ".csv", ".parquet")
_SLICE = re.compile(r"^(?P<name>[\w.-]+)(?:\[(?P<start>-?\d+%?)?:(?P<end>-?\d+%?)?\])?$")


def parse_split(spec: str) -> tuple[str, str | None, str | None]:
    """'train[:1000]' -> ('train', None, '1000'); percentages allowed as in ``datasets``."""
    match = _SLICE.match(spec.strip())
    if not match:
        raise FormatError(f"split {spec!r} is not NAME or NAME[start:end], e.g. train or train[:1000]")
    return match["name"], match["start"], match["end"]


def _bound(value: str | None, size: int) -> int | None:
    if value is None:
        return None
    if value.endswith("%"):
        return round(size * int(value[:-1]) / 100)
    return int(value)


def _slice(records: list[dict[str, Any]], start: str | None, end: str | None) -> list[dict[str, Any]]:
    return records[_bound(start, len(records)) : _bound(end, len(records))]


def _cell(value: str) -> Any:
    """CSV cells holding JSON lists/objects (history, conversations) are decoded; the rest stay strings."""
    stripped = value.strip()
    if stripped[:1] in ("[", "{"):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return value
    return value


def _read_json(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if "Extra data" not in str(exc):
            raise FormatError(f"{path}: not valid JSON ({exc})") from None
        return [json.loads(line) for line in text.splitlines() if line.strip()]  # JSONL named .json
    if not isinstance(data, list):
        raise FormatError(f"{path}: expected a JSON array of records")
    return data


def _read_csv(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [{k: _cell(v) for k, v in row.items() if k is not None} for row in csv.DictReader(handle)]


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def _read_from_disk(path: Path, split: str | None) -> list[dict[str, Any]]:
    import datasets

    loaded = datasets.load_from_disk(str(path))
    name, start, end = parse_split(split) if split else ("train", None, None)
    if isinstance(loaded, datasets.DatasetDict):
        if name not in loaded:
            raise FormatError(f"{path} has splits {', '.join(loaded)}; pass one of them as the split")
        loaded = loaded[name]
    return _slice(loaded.to_list(), start, end)


def _read_hub(dataset_id: str, split: str | None) -> list[dict[str, Any]]:
    import datasets

    try:
        loaded = datasets.load_dataset(dataset_id, split=split or "train")
    except Exception as exc:  # the hub client raises many types: connection, auth, not found
        raise FormatError(
            f"could not load {dataset_id!r} from the Hugging Face Hub ({type(exc).__name__}: {exc}); "
            "check the id, the network and HF_TOKEN, or pass a local file"
        ) from None
    return list(loaded.to_list())


def apply_mapping(
    records: list[Any], mapping: Mapping[str, str], defaults: Mapping[str, Any] | None = None
) -> list[Any]:
    """Rename source columns to the names a format expects (``{target: source}``), then fill ``defaults``
    into records that lack a field (``{"domain": "法律"}`` tags a whole file)."""
    if not mapping and not defaults:
        return records
    sources = set(mapping.values())
    out = []
    for record in records:
        if not isinstance(record, dict):
            out.append(record)
            continue
        renamed = {k: v for k, v in record.items() if k not in sources}
        for target, source in mapping.items():
            if source in record:
                renamed[target] = record[source]
        for key, value in (defaults or {}).items():
            renamed.setdefault(key, value)
        out.append(renamed)
    return out


def read_dataset(
    source: str | Path,
    split: str | None = None,
    mapping: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> list[Any]:
    """Records from a file (.json/.jsonl/.csv/.parquet), a ``save_to_disk`` folder, or a Hub id.

    ``split`` picks a split of a DatasetDict or Hub dataset and may slice it (``train[:1000]``); for plain
    files it slices the records.
    """
    path = Path(source)
    if path.is_dir():
        records: list[Any] = _read_from_disk(path, split)
    elif path.is_file():
        suffix = path.suffix.lower()
        if suffix in (".json", ".jsonl"):
            records = _read_json(path)
        elif suffix == ".csv":
            records = _read_csv(path)
        elif suffix == ".parquet":
            records = _read_parquet(path)
        else:
            raise FormatError(f"{path}: unsupported file type {suffix!r}; use .json, .jsonl, .csv or .parquet")
        if split:
            _, start, end = parse_split(split)
            records = _slice(records, start, end)
    elif re.fullmatch(r"[\w.-]+/[\w.-]+", str(source)) and not str(source).endswith(_FILE_SUFFIXES):
        records = _read_hub(str(source), split)
    else:
        raise FileNotFoundError(
            f"{source} does not exist; pass a JSON, JSONL, CSV or Parquet file, a folder, or a Hub id"
        )
    return apply_mapping(records, mapping or {}, defaults)


def read_records(path: str) -> list[Any]:
    """Records from a .json (array) or .jsonl file (kept for callers of the first version)."""
    return read_dataset(path)
