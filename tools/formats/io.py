"""Read datasets users already have: JSON, JSONL, CSV, Parquet, a ``datasets`` folder or a Hub id.

Every source becomes a list of plain dict records; a field mapping renames custom columns to the names a
format expects (``{"instruction": "question", "output": "answer"}``), so any shape can enter the converter.
A JSONL line that is not JSON does not sink its file: callers that pass ``bad_lines`` get the good records and
the bad lines (real line numbers, with the reason); others get a :class:`FormatError` naming them.
"""

from __future__ import annotations

import csv
import errno
import io
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


BadLines = list[dict[str, Any]]
"""Lines of a JSONL file that are not JSON: ``{"line": 5, "error": "not valid JSON (...)"}``, 1-based."""


def _text(path: Path) -> str:
    """The file's text in whatever encoding it uses (the ingest decoder: UTF-8/16, else a named guess)."""
    from ftds.tools.ingest.base import LoadError
    from ftds.tools.ingest.encoding import decode_document

    try:
        return decode_document(path.read_bytes(), path).text
    except LoadError as exc:
        raise FormatError(str(exc)) from None


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply to read", text, 0) from None


def _json_lines(text: str, path: Path, bad_lines: BadLines | None) -> list[Any]:
    records: list[Any] = []
    bad: BadLines = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(_loads(line))
        except json.JSONDecodeError as exc:
            bad.append({"line": number, "error": f"not valid JSON ({exc.msg}, column {exc.colno})"})
    if bad:
        shown = ("line " if len(bad) == 1 else "lines ") + ", ".join(str(b["line"]) for b in bad[:10])
        shown += " ..." if len(bad) > 10 else ""
        if not records:
            raise FormatError(f"{path}: no line is valid JSON ({shown}); is it a JSONL file?")
        if bad_lines is None:
            raise FormatError(f"{path}: {shown} not valid JSON ({bad[0]['error']}); fix or remove the line(s)")
        bad_lines.extend(bad)
    return records


def _read_json(path: Path, bad_lines: BadLines | None = None) -> list[Any]:
    text = _text(path)
    if path.suffix.lower() == ".jsonl":
        return _json_lines(text, path, bad_lines)
    try:
        data = _loads(text)
    except json.JSONDecodeError as exc:
        if "Extra data" not in str(exc):
            raise FormatError(
                f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); fix the file"
            ) from None
        return _json_lines(text, path, bad_lines)  # JSONL named .json
    if not isinstance(data, list):
        raise FormatError(f"{path}: expected a JSON array of records")
    return data


def _read_csv(path: Path) -> list[dict[str, Any]]:
    try:
        rows = list(csv.DictReader(io.StringIO(_text(path), newline="")))
    except csv.Error as exc:
        raise FormatError(f"{path}: malformed CSV ({exc}); check its quoting") from None
    return [{k: _cell(v) for k, v in row.items() if k is not None} for row in rows]


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path).to_pylist()
    except (pa.ArrowException, OSError) as exc:
        raise FormatError(f"{path}: not a readable Parquet file ({exc}); is it damaged or misnamed?") from None


_SAVED = ("dataset_info.json", "state.json", "dataset_dict.json")  # what datasets' save_to_disk writes


def _read_from_disk(path: Path, split: str | None) -> list[dict[str, Any]]:
    if not any((path / name).is_file() for name in _SAVED):
        files = sorted(p.name for p in path.iterdir() if p.suffix.lower() in _FILE_SUFFIXES)[:5]
        hint = f" such as {', '.join(files)}" if files else ""
        raise FormatError(
            f"{path} is a folder, not a dataset file: pass one of its .jsonl/.json/.csv/.parquet files{hint}, "
            "or a folder written by datasets' save_to_disk"
        )
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
    *,
    bad_lines: BadLines | None = None,
) -> list[Any]:
    """Records from a file (.json/.jsonl/.csv/.parquet), a ``save_to_disk`` folder, or a Hub id.

    ``split`` picks a split of a DatasetDict or Hub dataset and may slice it (``train[:1000]``); for plain
    files it slices the records. With ``bad_lines`` (a list to fill), JSONL lines that are not JSON are listed
    there and the good records returned; without it they raise :class:`FormatError`.
    """
    path = Path(source)
    try:
        is_dir, is_file = path.is_dir(), path.is_file()
    except OSError as exc:  # e.g. a name longer than the file system allows
        from ftds.tools.dataset.output_path import shorten

        reason = "the path is too long" if exc.errno == errno.ENAMETOOLONG else f"cannot be read ({exc.strerror})"
        raise FormatError(f"{shorten(source)}: {reason}; check it") from None
    if is_dir:
        records: list[Any] = _read_from_disk(path, split)
    elif is_file:
        suffix = path.suffix.lower()
        if suffix in (".json", ".jsonl"):
            records = _read_json(path, bad_lines)
        elif suffix == ".csv":
            records = _read_csv(path)
        elif suffix == ".parquet":
            records = _read_parquet(path)
        else:
            raise FormatError(f"{path}: unsupported file type {suffix!r}; use .json, .jsonl, .csv or .parquet")
        if split:
            _, start, end = parse_split(split)
            records = _slice(records, start, end)
    elif path.is_symlink() and not path.exists():
        raise FormatError(f"{path}: a symbolic link that loops or points nowhere; fix or remove the link")
    elif path.exists():  # a FIFO, socket or device: reading one could wait forever
        raise FormatError(f"{path}: not a regular file (a FIFO, socket or device); pass a dataset file")
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
