"""CSV, XLSX, JSON and JSONL: each row or record becomes one unit of text.

The user names the column or field that holds the text (``ingest.text_field``); without one, every field of
a record is written as ``name: value`` lines so nothing is dropped. A record whose chosen field is missing
or empty is skipped and counted in the file's report. CSV and JSON are decoded with the same detection as
plain text; XLSX is read with openpyxl (MIT) in read-only mode after the zip-bomb check.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ftds.tools.config import IngestSettings
from ftds.tools.ingest.base import Extracted, LoadError
from ftds.tools.ingest.encoding import decode_document
from ftds.tools.ingest.safety import open_zip


def _render(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value, ensure_ascii=False)


def _records(rows: Iterable[tuple[str, dict[str, Any]]], path: Path, field: str | None, kind: str) -> Extracted:
    records: list[tuple[str, str]] = []
    missing = 0
    fields_seen: set[str] = set()
    for label, row in rows:
        fields_seen.update(row)
        if field is not None:
            text = _render(row.get(field))
        else:
            text = "\n".join(f"{k}: {_render(v)}" for k, v in row.items() if _render(v))
        if text:
            records.append((label, text))
        else:
            missing += 1
    if not records:
        if field is not None and field not in fields_seen:
            known = ", ".join(sorted(fields_seen)[:20]) or "(none)"
            raise LoadError(f"{path.name}: no record has the field {field!r}; choose one of: {known}")
        raise LoadError(f"{path.name}: contains no records with text")
    notes = [f"{missing} record(s) with no text in {field or 'any field'!r} skipped"] if missing else []
    return Extracted(format=kind, records=records, notes=notes)


def _with_note(extracted: Extracted, note: str) -> Extracted:
    if note:
        extracted.notes.insert(0, note)
    return extracted


def read_csv(data: bytes, path: Path, limits: IngestSettings) -> Extracted:
    decoded = decode_document(data, path)
    text = decoded.text
    try:
        dialect: Any = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    try:
        rows = [(f"row {i}", {k or "": v for k, v in row.items()}) for i, row in enumerate(reader, start=2)]
    except csv.Error as exc:
        raise LoadError(f"{path.name}: malformed CSV ({exc}); check its quoting") from None
    return _with_note(_records(rows, path, limits.text_field, "csv"), decoded.note)


def read_xlsx(data: bytes, path: Path, limits: IngestSettings) -> Extracted:
    import openpyxl

    open_zip(data, path, "XLSX", limits).close()
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged workbooks
        raise LoadError(f"{path.name}: not a readable XLSX ({type(exc).__name__}: {exc}); re-save it") from None

    def rows() -> Iterator[tuple[str, dict[str, Any]]]:
        for sheet in workbook.worksheets:
            values = sheet.iter_rows(values_only=True)
            header = next(values, None)
            if header is None:
                continue
            names = [str(h) if h is not None else f"column {i + 1}" for i, h in enumerate(header)]
            for number, row in enumerate(values, start=2):
                yield f"{sheet.title} row {number}", dict(zip(names, row, strict=False))

    try:
        return _records(rows(), path, limits.text_field, "xlsx")
    finally:
        workbook.close()


def _json_rows(value: Any) -> list[tuple[str, dict[str, Any]]]:
    if isinstance(value, dict):
        lists = [v for v in value.values() if isinstance(v, list)]
        value = lists[0] if len(lists) == 1 else [value]
    if not isinstance(value, list):
        value = [value]
    return [(f"record {i}", item if isinstance(item, dict) else {"value": item}) for i, item in enumerate(value, 1)]


def read_json(data: bytes, path: Path, limits: IngestSettings) -> Extracted:
    decoded = decode_document(data, path)
    try:
        value = json.loads(decoded.text)
    except json.JSONDecodeError as exc:
        raise LoadError(f"{path.name}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise LoadError(f"{path.name}: JSON nested too deeply to read (thousands of levels); is it damaged?") from None
    return _with_note(_records(_json_rows(value), path, limits.text_field, "json"), decoded.note)


def read_jsonl(data: bytes, path: Path, limits: IngestSettings) -> Extracted:
    rows: list[tuple[str, dict[str, Any]]] = []
    bad: list[int] = []
    decoded = decode_document(data, path)
    for number, line in enumerate(decoded.text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (json.JSONDecodeError, RecursionError):  # a line nested thousands deep is as unreadable
            bad.append(number)
            continue
        rows.append((f"line {number}", item if isinstance(item, dict) else {"value": item}))
    if not rows:
        raise LoadError(f"{path.name}: no valid JSON line (first bad line: {bad[0] if bad else '-'})")
    result = _records(rows, path, limits.text_field, "jsonl")
    if bad:
        shown = ", ".join(map(str, bad[:10]))
        result.notes.append(f"{len(bad)} line(s) are not valid JSON and were skipped (lines {shown})")
        result.unreadable = len(bad)
    return _with_note(result, decoded.note)
