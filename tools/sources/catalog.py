"""The curated catalog shipped with ftds (``tools/data/catalog.yaml``) and the matching used for it.

Matching works on concepts, not spellings: "law", "legal" and "法律" are one concept, "Chinese", "zh" and
"中文" another, so an English query finds a Chinese dataset's entry and the other way round. Chinese text
has no spaces, so a concept matches when one of its Chinese words occurs inside the text.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from ftds.tools.sources.base import SearchFilters, load_snippet
from ftds.tools.sources.licenses import ETHICS_WARNING, needs_ethics_review, normalize_license
from ftds.tools.sources.models import DatasetResult

# ftds.tools is a namespace package (no __init__), so importlib.resources cannot address it; the data
# folder sits beside this package in both the source tree and an installed wheel.
DATA_DIR = Path(__file__).resolve().parent.parent / "data"

_CONCEPTS: dict[str, set[str]] = {
    "zh": {"zh", "chinese", "中文", "汉语", "中英"},
    "en": {"en", "english", "英文", "中英"},
    "multilingual": {"multilingual", "多语言"},
    "law": {"law", "legal", "judicial", "court", "法律", "司法", "法学", "法规", "判决", "罪名"},
    "qa": {"qa", "q&a", "question-answering", "question", "answering", "问答", "答题"},
    "medical": {"medical", "medicine", "clinical", "biomedical", "pubmed", "医疗", "医学", "临床"},
    "math": {"math", "mathematics", "数学", "解题"},
    "reasoning": {"reasoning", "cot", "chain-of-thought", "推理", "思维链"},
    "distill": {"distill", "distilled", "distillation", "蒸馏"},
    "sentiment": {"sentiment", "情感"},
    "code": {"code", "programming", "代码"},
    "preference": {"preference", "rlhf", "dpo", "偏好"},
    "instruction": {"instruction", "sft", "fine-tuning", "指令", "微调"},
    "dialogue": {"dialogue", "conversation", "chat", "multi-turn", "sharegpt", "sharegpt-style", "对话"},
    "image": {"image", "images", "vision", "图像", "视觉"},
    "video": {"video", "videos", "视频"},
    "detection": {"detection", "检测"},
    "segmentation": {"segmentation", "分割"},
    "classification": {"classification", "分类"},
    "remote-sensing": {"remote", "sensing", "satellite", "遥感"},
    "driving": {"driving", "autonomous", "驾驶"},
}
_STOPWORDS = {
    "dataset",
    "datasets",
    "data",
    "domain",
    "for",
    "the",
    "a",
    "an",
    "of",
    "set",
    "and",
    "in",
    "数据集",
    "数据",
}
_TOKEN = re.compile(r"[a-z0-9][a-z0-9&+\-.]*|[\u4e00-\u9fff]+")
_WORD_TO_CONCEPT = {word: concept for concept, words in _CONCEPTS.items() for word in words}


def concepts(text: str) -> set[str]:
    """The concepts named in ``text``; words that name none are kept as themselves."""
    found: set[str] = set()
    for token in _TOKEN.findall(text.lower()):
        if token in _STOPWORDS:
            continue
        if "\u4e00" <= token[0] <= "\u9fff":
            hits = {c for c, words in _CONCEPTS.items() if any(w in token for w in words if not w.isascii())}
            found |= hits or {token}
            continue
        parts = [token, *token.split("-")] if "-" in token else [token]
        mapped = {_WORD_TO_CONCEPT[p] for p in parts if p in _WORD_TO_CONCEPT}
        found |= mapped or {token}
    return found


def score(query: str, *texts: str) -> int:
    """How many of the query's concepts the texts name (0 when the query names none of them)."""
    wanted = concepts(query)
    if not wanted:
        return 1  # an empty query lists everything
    have = concepts(" ".join(texts))
    joined = " ".join(texts).lower()
    return sum(1 for c in wanted if c in have or (len(c) > 1 and not c.isascii() and c in joined))


def matches(query: str, *texts: str) -> bool:
    """True when at least half of the query's concepts (and at least one) appear in the texts."""
    wanted = len(concepts(query))
    return score(query, *texts) >= max(1, (wanted + 1) // 2)


@cache
def load_catalog() -> dict[str, Any]:
    text = (DATA_DIR / "catalog.yaml").read_text("utf-8")
    import yaml  # lazily: not needed to start the MCP server

    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("datasets"), list):
        raise ValueError("the shipped catalog.yaml has no 'datasets' list; the package is damaged")
    return data


def catalog_version() -> str:
    data = load_catalog()
    return f"{data.get('version')} ({data.get('updated')})"


def entry_to_result(entry: dict[str, Any]) -> DatasetResult:
    source = entry["source"]
    dataset_id = entry["id"]
    url = entry.get("url") or (f"https://huggingface.co/datasets/{dataset_id}" if source == "huggingface" else "")
    description = entry.get("description") or ""
    if entry.get("license_note"):
        description = f"{description} Licence note: {entry['license_note']}".strip()
    result = DatasetResult(
        source=source,
        id=dataset_id,
        title=entry.get("title") or dataset_id,
        description=description,
        task_types=list(entry.get("task_types") or []),
        languages=list(entry.get("languages") or []),
        domains=list(entry.get("domains") or []),
        size=entry.get("size"),
        formats=list(entry.get("formats") or []),
        license=normalize_license(entry.get("license")),
        license_raw=entry.get("license"),
        url=url,
        load_snippet=load_snippet(dataset_id, entry.get("config")) if source == "huggingface" else None,
        origin="catalog",
    )
    if needs_ethics_review(*result.domains, result.title):
        result.warnings.append(ETHICS_WARNING)
    return result


def _entry_text(entry: dict[str, Any]) -> list[str]:
    fields = ("title", "id", "description")
    lists = ("task_types", "domains", "languages", "keywords")
    return [str(entry.get(f) or "") for f in fields] + [" ".join(map(str, entry.get(f) or [])) for f in lists]


def _passes(entry: dict[str, Any], filters: SearchFilters) -> bool:
    if filters.task and not any(filters.task.lower() in t.lower() for t in entry.get("task_types") or []):
        return False
    if filters.language and concepts(filters.language).isdisjoint(concepts(" ".join(entry.get("languages") or []))):
        return False
    if filters.license and normalize_license(filters.license) != normalize_license(entry.get("license")):
        return False
    return not (filters.domain and not matches(filters.domain, " ".join(entry.get("domains") or [])))


def search_catalog(query: str, filters: SearchFilters | None = None, limit: int = 20) -> list[DatasetResult]:
    """Catalog entries matching the query and filters, best match first."""
    filters = filters or SearchFilters()
    scored = []
    for index, entry in enumerate(load_catalog()["datasets"]):
        texts = _entry_text(entry)
        if _passes(entry, filters) and matches(query, *texts):
            scored.append((-score(query, *texts), index, entry))
    return [entry_to_result(entry) for _, _, entry in sorted(scored)[:limit]]
