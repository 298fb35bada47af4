"""Load a sample of a found dataset with ``datasets`` and hand it to the format tools.

A Hub id is streamed (only ``limit`` rows travel); a local file or a ``save_to_disk`` folder is read from
disk. The sample's record format is detected with :func:`ftds.tools.formats.detect_format` and, on
request, converted with :func:`ftds.tools.formats.convert_records`, so a found dataset can be checked
against the trainer's format before anything large is downloaded.
"""

from __future__ import annotations

from collections import Counter
from itertools import islice
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ftds.tools.formats import FormatError, convert_records, detect_format

_BUILDERS = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet", ".txt": "text"}


class FetchError(RuntimeError):
    """The sample could not be loaded; the message says why and what to try."""


class FetchedSample(BaseModel):
    dataset: str
    split: str
    rows: int
    columns: list[str]
    detected_format: str | None = Field(description="alpaca, sharegpt or openai when the rows fit one; else null.")
    records: list[dict[str, Any]] = Field(description="The rows as loaded.")
    converted_to: str | None = None
    converted: list[dict[str, Any]] = Field(default_factory=list)
    conversion_errors: list[str] = Field(default_factory=list)


def _load_rows(
    dataset: str, split: str, limit: int, config: str | None, cache_dir: Path | None, offline: bool
) -> list[dict[str, Any]]:
    import datasets  # heavy: imported only when a sample is actually fetched

    path = Path(dataset).expanduser()
    cache = str(cache_dir) if cache_dir else None
    try:
        if path.is_dir() and any((path / name).exists() for name in ("dataset_info.json", "dataset_dict.json")):
            loaded = datasets.load_from_disk(str(path))
            if isinstance(loaded, datasets.DatasetDict):
                if split not in loaded:
                    raise FetchError(f"{dataset} has splits {list(loaded)}, not {split!r}; pass --split")
                loaded = loaded[split]
            return [dict(row) for row in loaded.select(range(min(limit, len(loaded))))]
        if path.is_file():
            builder = _BUILDERS.get(path.suffix.lower())
            if builder is None:
                raise FetchError(f"{path.name}: unsupported file type; use .json, .jsonl, .csv, .parquet or .txt")
            local = datasets.load_dataset(builder, data_files=str(path), split=f"train[:{limit}]", cache_dir=cache)
            return [dict(row) for row in local]
        if offline:
            raise FetchError(f"{dataset} is not a local file or folder and the network is off (sources.offline)")
        stream = datasets.load_dataset(dataset, name=config, split=split, streaming=True)
        return [dict(row) for row in islice(stream, limit)]
    except FetchError:
        raise
    except FileNotFoundError as exc:
        raise FetchError(f"{dataset} was not found: {exc}") from None
    except Exception as exc:  # datasets raises many types for one cause: not loadable as asked
        raise FetchError(f"{dataset} could not be loaded ({type(exc).__name__}: {exc})") from None


def _majority_format(rows: list[dict[str, Any]]) -> str | None:
    counts: Counter[str] = Counter()
    for row in rows[:50]:
        try:
            counts[detect_format(row)] += 1
        except FormatError:
            counts["unknown"] += 1
    best = counts.most_common(1)
    return best[0][0] if best and best[0][0] != "unknown" else None


def fetch_sample(
    dataset: str,
    *,
    limit: int = 100,
    split: str = "train",
    config: str | None = None,
    to: str | None = None,
    cache_dir: Path | None = None,
    offline: bool = False,
) -> FetchedSample:
    """The first ``limit`` rows of ``dataset`` (Hub id, data file or saved folder), format detected and
    optionally converted."""
    if limit < 1:
        raise FetchError("limit must be at least 1")
    rows = _load_rows(dataset, split, limit, config, cache_dir, offline)
    sample = FetchedSample(
        dataset=dataset,
        split=split,
        rows=len(rows),
        columns=list(rows[0]) if rows else [],
        detected_format=_majority_format(rows),
        records=rows,
    )
    if to:
        result = convert_records(rows, to)
        sample.converted_to, sample.converted = to, result.records
        sample.conversion_errors = [f"row {index}: {error}" for index, error in result.errors]
    return sample
