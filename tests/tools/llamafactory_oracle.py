"""LLaMA-Factory's own dataset parser and converters, loaded without its heavy package imports.

``llamafactory`` (Apache-2.0) pins torch/transformers/gradio versions this project cannot install, so
the package is installed with ``--no-deps`` and only ``data/parser.py``, ``data/data_utils.py`` and
``data/converter.py`` are executed, with ``extras.logging``/``constants``/``misc`` replaced by the few
names they use. The conversion rules that run are LLaMA-Factory's real code, not a re-implementation.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

import datasets


class _RecordingLogger:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning_rank0(self, message: str) -> None:
        self.warnings.append(message)

    warning_rank0_once = warning_rank0
    warning = warning_rank0
    info_rank0 = info = debug = warning_rank0


LOGGER = _RecordingLogger()


def available() -> bool:
    return importlib.util.find_spec("llamafactory") is not None


def _load() -> dict[str, types.ModuleType]:
    spec = importlib.util.find_spec("llamafactory")
    assert spec is not None and spec.submodule_search_locations
    root = Path(next(iter(spec.submodule_search_locations)))
    prefix = "_lf_oracle"
    if f"{prefix}.data.converter" in sys.modules:
        return {n: sys.modules[f"{prefix}.data.{n}"] for n in ("parser", "converter")}
    for name, path in ((prefix, root), (f"{prefix}.data", root / "data"), (f"{prefix}.extras", root / "extras")):
        package = types.ModuleType(name)
        package.__path__ = [str(path)]
        sys.modules[name] = package
    logging_stub = types.ModuleType(f"{prefix}.extras.logging")
    logging_stub.get_logger = lambda _name=None: LOGGER  # type: ignore[attr-defined]
    constants_stub = types.ModuleType(f"{prefix}.extras.constants")
    constants_stub.DATA_CONFIG = "dataset_info.json"  # type: ignore[attr-defined]
    misc_stub = types.ModuleType(f"{prefix}.extras.misc")
    misc_stub.use_modelscope = lambda: False  # type: ignore[attr-defined]
    misc_stub.use_openmind = lambda: False  # type: ignore[attr-defined]
    for module in (logging_stub, constants_stub, misc_stub):
        sys.modules[module.__name__] = module
        setattr(sys.modules[f"{prefix}.extras"], module.__name__.rsplit(".", 1)[1], module)
    loaded = {}
    for name in ("data_utils", "parser", "converter"):
        module_spec = importlib.util.spec_from_file_location(f"{prefix}.data.{name}", root / "data" / f"{name}.py")
        assert module_spec and module_spec.loader
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_spec.name] = module
        module_spec.loader.exec_module(module)
        loaded[name] = module
    return loaded


def load_like_llamafactory(
    dataset_dir: Path, name: str, unsupervised: bool = False
) -> tuple[list[dict[str, Any]], list[str]]:
    """Read ``name`` from ``dataset_dir/dataset_info.json`` and convert every example as LLaMA-Factory does.

    Returns the aligned examples that LLaMA-Factory would keep (non-empty prompt and response; for
    pretraining, ``unsupervised``, a non-empty prompt text) and the
    warnings it logged ("Invalid role tag", "Invalid message count", ...).
    """
    modules = _load()
    LOGGER.warnings.clear()
    (attr,) = modules["parser"].get_dataset_list([name], str(dataset_dir))
    data_file = dataset_dir / attr.dataset_name
    kind = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}[data_file.suffix]
    dataset = datasets.load_dataset(kind, data_files=str(data_file), split="train")
    data_args = types.SimpleNamespace(media_dir=str(dataset_dir))
    converter = modules["converter"].get_dataset_converter(attr.formatting, attr, data_args)
    kept = []
    for example in dataset:
        aligned = converter(example)
        if aligned["_prompt"] and (aligned["_response"] or (unsupervised and aligned["_prompt"][0]["content"])):
            kept.append(aligned)
    return kept, list(LOGGER.warnings)
