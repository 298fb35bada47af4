"""How every dataset file lands on disk: one atomic writer, and the output folder's manifest.

A file is written to a temporary sibling and renamed into place, so a crash never leaves half a file behind.
A folder that receives a dataset also receives ``.ftds-manifest.json`` listing every file that dataset wrote;
the next dataset written there first removes exactly those files. That is how a rerun into a used folder
replaces the old dataset entirely (no split file of the old run survives beside the new report) without ever
touching files the user keeps in the same folder, which a swap of the whole folder would destroy.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Literal

FILE_TYPES = ("jsonl", "json", "csv", "parquet")
MANIFEST = ".ftds-manifest.json"
_SPLIT_FILES = tuple(f"{split}.{suffix}" for split in ("train", "validation", "test", "full") for suffix in FILE_TYPES)
# What an ftds dataset folder written before manifests existed holds (builds, `split` and `export`): names
# specific enough that a folder with one of them holds a dataset, then the generic ones written beside them.
_LEGACY_MARKERS = ("dataset_info.json", "report.json", "leakage.json", "rejected.jsonl", *_SPLIT_FILES)
_LEGACY_DIRS = ("alpaca", "sharegpt", "openai", "task", "provenance")
_LEGACY_BESIDE = ("report.md", "report.html", "plots", *(f"data/{name}" for name in _SPLIT_FILES))


@contextlib.contextmanager
def atomic_open(path: Path, binary: bool = False) -> Iterator[IO[Any]]:
    """A handle on a temporary sibling of ``path`` that replaces ``path`` only when the block ends cleanly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_open(path, binary=True) as handle:
        handle.write(data)


def write_text(path: Path, text: str) -> None:
    with atomic_open(path) as handle:
        handle.write(text)


def write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> int:
    """One JSON object a line (streamed: the records need not fit in memory); returns how many."""
    count = 0
    with atomic_open(path) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def write_json(path: Path, data: Any) -> None:
    write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def write_records(path: Path, records: Sequence[Mapping[str, Any]], file_type: str) -> None:
    """One file of records in ``file_type``. CSV cells holding lists/objects are JSON-encoded."""
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
        write_text(path, buffer.getvalue())
    elif file_type == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        sink = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pylist(list(records)), sink)
        write_bytes(path, sink.getvalue().to_pybytes())
    else:
        raise ValueError(f"unknown file type {file_type!r}; choose one of {', '.join(FILE_TYPES)}")


# --- the output folder ------------------------------------------------------------------------------------

Writer = Literal["build", "split", "export", "eval-set build"]


class OutputExistsError(ValueError):
    """The output folder already holds a dataset and replacing it was not asked for."""


def _manifest(out_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("files"), list) else None


def _legacy_entries(out_dir: Path) -> list[Path]:
    found = [out_dir / n for n in _LEGACY_MARKERS if (out_dir / n).is_file()]
    found += [out_dir / n for n in _LEGACY_DIRS if (out_dir / n).is_dir()]
    found += [p for p in out_dir.glob("fold[0-9]*") if p.is_dir() and (p / "train.jsonl").exists()]
    if (out_dir / "hf" / "dataset_dict.json").is_file():
        found.append(out_dir / "hf")
    if found:
        found += [out_dir / n for n in _LEGACY_BESIDE if (out_dir / n).exists()]
    return found


def existing_dataset(out_dir: Path) -> str | None:
    """A sentence describing the dataset ``out_dir`` already holds, or None when it holds none."""
    if not out_dir.is_dir():
        return None
    manifest = _manifest(out_dir)
    if manifest is not None:
        by = manifest.get("written_by", "ftds")
        run = f" (run {manifest['run_id']})" if manifest.get("run_id") else ""
        return f"{out_dir} already holds a dataset written by `ftds-agent {by}`{run}"
    legacy = _legacy_entries(out_dir)
    if legacy:
        shown = ", ".join(p.name for p in legacy[:4])
        return f"{out_dir} already holds dataset files ({shown})"
    return None


def check_output_folder(out_dir: Path, overwrite: bool) -> None:
    """Refuse an output folder that already holds a dataset unless ``overwrite``; called before any work."""
    found = existing_dataset(out_dir)
    if found is None or overwrite:
        return
    raise OutputExistsError(
        f"{found}; pass --overwrite (MCP: overwrite=true) to replace it (only the files it wrote are removed) "
        "or choose another output folder"
    )


def _inside(out_dir: Path, name: str) -> Path | None:
    """``out_dir/name`` when it names something inside ``out_dir`` (no ``..``, no absolute path, no folder on the
    way that links elsewhere), else None: a manifest, even an edited one, never reaches outside its folder."""
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        return None
    path = out_dir / relative
    return path if path.parent.resolve().is_relative_to(out_dir.resolve()) else None


def _remove_previous(out_dir: Path) -> None:
    manifest = _manifest(out_dir)
    if manifest is None:
        entries = _legacy_entries(out_dir)
    else:
        entries = [path for name in manifest["files"] if (path := _inside(out_dir, str(name))) is not None]
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)  # a link itself, never what it points at
    root = out_dir.resolve()
    folders = {parent for entry in entries for parent in entry.parent.resolve().parents if parent != root}
    folders |= {entry.parent.resolve() for entry in entries}
    folders = {folder for folder in folders if folder.is_relative_to(root) and folder != root}
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):  # only the folders the old dataset left empty
            folder.rmdir()
    (out_dir / MANIFEST).unlink(missing_ok=True)


def _snapshot(out_dir: Path) -> dict[str, int]:
    return {
        str(p.relative_to(out_dir)): p.stat().st_mtime_ns
        for p in out_dir.rglob("*")
        if p.is_file() and p.name != MANIFEST
    }


class DatasetFolder:
    """A dataset being written into ``out_dir``, replacing the one it held.

    Opening it removes the previous dataset (the files its manifest lists); :meth:`seal` lists every file
    written since in a new manifest. Used as a context manager it seals when the block ends cleanly. The
    caller has already checked, with :func:`check_output_folder`, that replacing is allowed."""

    def __init__(self, out_dir: Path, written_by: Writer, run_id: str | None = None) -> None:
        self.out_dir, self.written_by, self.run_id = out_dir, written_by, run_id
        out_dir.mkdir(parents=True, exist_ok=True)
        _remove_previous(out_dir)
        self._before = _snapshot(out_dir)

    def seal(self) -> str:
        after = _snapshot(self.out_dir)
        files = sorted(name for name, mtime in after.items() if self._before.get(name) != mtime)
        manifest = {"written_by": self.written_by, "run_id": self.run_id, "files": files}
        write_json(self.out_dir / MANIFEST, manifest)
        return str(self.out_dir / MANIFEST)

    def __enter__(self) -> DatasetFolder:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is None:
            self.seal()
