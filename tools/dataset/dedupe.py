"""Drop duplicates: exact (normalised hash), near (MinHash LSH) and semantic (embeddings), keeping the best.

``dedupe_exact`` works on generated :class:`Sample` objects (the build pipeline); ``dedupe_records`` on any
dataset's records, with clusters reported so a user can see what was merged and why.

Normalisation folds case, width (NFKC), whitespace and punctuation, so "什么是数据？" and "什么是数据?" collide.
Of each duplicate group the best-reviewed sample is kept; the others are reported as rejected duplicates.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ftds.tools.config import DedupeSettings
from ftds.tools.reasons import Reason
from ftds.tools.records import ItemOutcome, Sample, content_hash

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).casefold())


def exact_key(question: str, answer: str = "") -> str:
    return hashlib.blake2b(f"{normalise(question)}\x1f{normalise(answer)}".encode(), digest_size=16).hexdigest()


def _exact_key_of_clean(clean: str) -> str:
    """:func:`exact_key` of a text from its ``near_dup.clean_texts`` form (already NFKC + casefolded;
    dropping the noise characters from it gives the same string as :func:`normalise`)."""
    return hashlib.blake2b(f"{_NOISE.sub('', clean)}\x1f".encode(), digest_size=16).hexdigest()


def _score(sample: Sample) -> float:
    return sample.review.total if sample.review else 0.0


DUPLICATE_REASONS = {
    "exact": Reason.DUPLICATE,
    "near": Reason.DUPLICATE_NEAR,
    "semantic": Reason.DUPLICATE_SEMANTIC,
    "earlier-run": Reason.DUPLICATE_EARLIER_RUN,
}
"""The reason code of a sample dropped by each dedupe method (a cluster joined by several is ``mixed``)."""


def dedupe_samples(
    samples: Sequence[Sample],
    settings: DedupeSettings,
    methods: Sequence[str],
    store_dir: Path | None = None,
    *,
    against: str | None = None,
    remember_as: str | None = None,
) -> tuple[list[Sample], list[ItemOutcome]]:
    """Generated samples through :func:`dedupe_records` (best review score kept); the rest reported by method.

    The semantic memory is scoped to named datasets: the samples are compared with the memory of the dataset
    ``against`` only when asked (so a build never depends on unrelated earlier builds), and the survivors
    replace the memory of ``remember_as`` (the build's own dataset name) for later builds to name."""
    # a build keeps its named memories in the run's store folder (a Chroma server is for `ftds-agent dedupe`)
    settings = settings.model_copy(update={"chroma_url": None})
    records = [{"instruction": s.question, "input": "", "output": s.answer, "score": _score(s)} for s in samples]
    query = settings.model_copy(update={"collection": memory_name(against)}) if against else settings
    report = dedupe_records(
        records,
        query,
        methods,
        score_field="score",
        store_dir=store_dir if against else None,
        remember=(store_dir, memory_name(remember_as)) if store_dir is not None and remember_as else None,
    )
    kept = set(report.kept)
    dropped: list[ItemOutcome] = []
    for cluster in report.clusters:
        for index in cluster.removed:
            reason = DUPLICATE_REASONS.get(cluster.method, Reason.DUPLICATE_MIXED)
            survivor = samples[cluster.kept].question[:80] if cluster.kept >= 0 else cluster.matched_earlier
            dropped.append(
                ItemOutcome(
                    item_id=samples[index].sample_id,
                    kind="sample",
                    status="rejected",
                    reason=reason,
                    detail=f"similar ({cluster.similarity:.2f}) to kept: {survivor}",
                )
            )
    return [s for i, s in enumerate(samples) if i in kept], dropped


# --- record-level dedupe for any dataset: exact, near (MinHash LSH), semantic (embeddings + chromadb) ------


def record_text(record: Any) -> str:
    """The text two records must share to be duplicates: every turn (and chosen answer), without roles."""
    from ftds.tools.formats import FormatError, check_format, detect_format

    if not isinstance(record, dict):
        return str(record)
    try:
        conv = check_format(detect_format(record)).read(record)
    except FormatError:
        return json.dumps(record, ensure_ascii=False, sort_keys=True)
    if conv.text is not None and not conv.turns:
        return conv.text
    parts = [content for _, content in conv.turns]
    if conv.chosen:
        parts.append(conv.chosen)
    return "\n".join(parts)


def record_score(record: Any, field: str | None) -> float:
    """The quality score used to pick the survivor of a cluster (a review total, reward, rating...)."""
    if not field or not isinstance(record, dict):
        return 0.0
    value: Any = record
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


@dataclass
class DuplicateCluster:
    kept: int
    removed: list[int]
    method: str  # exact | near | semantic | earlier-run
    similarity: float = 1.0
    matched_earlier: str | None = None  # id of the earlier run's record, for method 'earlier-run'


@dataclass
class DedupeReport:
    total: int
    kept: list[int] = field(default_factory=list)
    clusters: list[DuplicateCluster] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)

    @property
    def removed(self) -> int:
        return self.total - len(self.kept)


class _Clusters:
    """Union-find over record indices; the root of each set is its best-scored member."""

    def __init__(self, scores: Sequence[float]) -> None:
        self.parent = list(range(len(scores)))
        self.scores = scores
        self.how: dict[int, tuple[str, float]] = {}

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int, method: str, similarity: float) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        # keep the better score; on a tie the earlier record
        keep, drop = (ra, rb) if (self.scores[ra], -ra) >= (self.scores[rb], -rb) else (rb, ra)
        self.parent[drop] = keep
        previous = self.how.get(keep, (method, similarity))
        self.how[keep] = (previous[0] if previous[0] == method else "mixed", min(previous[1], similarity))


Edge = tuple[int, int, str, float]  # (earlier index, later index, method, similarity)


class SemanticSearch(Protocol):
    """One run's embeddings, wherever they are held, and the pairs they form."""

    embedder_name: str

    def pairs(self) -> Iterable[tuple[int, int, float]]:
        """(earlier, later, cosine) of every pair at or above the semantic threshold, by (later, earlier)."""
        ...

    def vectors(self, indices: Sequence[int] | None = None) -> Iterable[tuple[Any, Any]]:
        """(indices, unit vectors) of the records asked for (default all), in batches, in index order."""
        ...


class DedupeEngine(Protocol):
    def edges(self, texts: Sequence[str], settings: DedupeSettings, methods: Sequence[str]) -> Iterable[Edge]:
        """Exact edges (first record with the key, later record) by the later index, then near-duplicate
        edges by (later, earlier) index: the order the union-find consumes them in."""
        ...

    def semantic(self, texts: Sequence[str], settings: DedupeSettings, embedder: Any = None) -> SemanticSearch:
        """Embed every text (``embedder``, or the one ``settings`` name) for the semantic pairs."""
        ...


class LocalEngine:
    """Exact keys and MinHash LSH in this process (:mod:`ftds.tools.dataset.near_dup`), embeddings too."""

    def semantic(self, texts: Sequence[str], settings: DedupeSettings, embedder: Any = None) -> SemanticSearch:
        from ftds.tools.dataset.semantic import LocalSearch

        return LocalSearch(texts, settings, embedder)

    def edges(self, texts: Sequence[str], settings: DedupeSettings, methods: Sequence[str]) -> Iterator[Edge]:
        from ftds.tools.dataset.near_dup import clean_texts, near_duplicate_pairs

        cleaned = clean_texts(texts)  # NFKC + casefold once, for both the exact key and the n-grams
        if "exact" in methods:
            first: dict[str, int] = {}
            for index, clean in enumerate(cleaned):
                key = _exact_key_of_clean(clean)
                if key in first:
                    yield first[key], index, "exact", 1.0
                else:
                    first[key] = index
        if "near" in methods:
            for i, j, similarity in near_duplicate_pairs(texts, settings, cleaned=cleaned):
                yield i, j, "near", similarity


def dedupe_records(
    records: Sequence[Any],
    settings: DedupeSettings,
    methods: Sequence[str] = ("exact", "near"),
    score_field: str | None = None,
    store_dir: Path | None = None,
    embedder: Any = None,
    remember: tuple[Path, str] | None = None,
    engine: DedupeEngine | None = None,
) -> DedupeReport:
    """Cluster duplicates by the chosen methods and keep the best-scored member of each cluster.

    ``engine`` finds the exact and near duplicate edges and embeds for the semantic ones (default: this
    process, :class:`LocalEngine`; ``ftds.tools.dataset.ray_dedupe.RayEngine`` on a Ray cluster); any
    engine yields the same edges in the same order, so the clusters do not depend on where they were
    computed. The memory of earlier runs is read and written here, on the driver, batch by batch.

    ``semantic`` embeds every record (``embedder`` or the configured one) and, with ``store_dir`` (or a
    Chroma server, ``settings.chroma_url``), also drops records matching ones kept by earlier runs
    (collection ``settings.collection``), then remembers this run's survivors there.
    ``remember=(store_dir, name)`` instead replaces the collection ``name`` with this run's survivors (a
    named dataset's memory).
    """
    unknown = set(methods) - {"exact", "near", "semantic"}
    if unknown:
        raise ValueError(f"unknown dedupe method(s) {sorted(unknown)}; choose from exact, near, semantic")
    texts = [record_text(r) for r in records]
    scores = [record_score(r, score_field) for r in records]
    clusters = _Clusters(scores)
    report = DedupeReport(total=len(records), methods=list(methods))
    lexical = [m for m in methods if m in ("exact", "near")]
    if lexical:
        for i, j, method, similarity in (engine or LocalEngine()).edges(texts, settings, lexical):
            clusters.union(i, j, method, similarity)
    earlier: dict[int, tuple[str, float]] = {}
    search = None
    ids = [content_hash(text) for text in texts]
    if "semantic" in methods:
        from ftds.tools.dataset.semantic import earlier_matches, remembers

        search = (engine or LocalEngine()).semantic(texts, settings, embedder)
        for i, j, similarity in search.pairs():
            clusters.union(i, j, "semantic", similarity)
        if remembers(settings, store_dir) and texts:
            earlier = earlier_matches(ids, search.vectors(), settings, search.embedder_name, store_dir)
    members: dict[int, list[int]] = {}
    for index in range(len(records)):
        members.setdefault(clusters.find(index), []).append(index)
    for root, group in sorted(members.items()):
        if root in earlier:  # the whole cluster repeats a record an earlier run kept
            hit, similarity = earlier[root]
            report.clusters.append(DuplicateCluster(-1, group, "earlier-run", similarity, hit))
            continue
        report.kept.append(root)
        if len(group) > 1:
            method, similarity = clusters.how.get(root, ("exact", 1.0))
            report.clusters.append(DuplicateCluster(root, [i for i in group if i != root], method, similarity))
    report.kept.sort()
    if search is not None:
        from ftds.tools.dataset.semantic import forget_collection, remembers
        from ftds.tools.dataset.semantic import remember as store

        if not (remembers(settings, store_dir) or remember is not None):
            return report

        target_dir, target = store_dir, settings
        if remember is not None:
            forget_collection(remember[0], remember[1])
            target_dir, target = remember[0], settings.model_copy(update={"collection": remember[1]})
        if report.kept:
            store(ids, texts, search.vectors(report.kept), target, search.embedder_name, target_dir)
    return report


def memory_name(dataset: str) -> str:
    """The chromadb collection that remembers a named dataset's samples (chromadb's name rules: 3-512 of
    [a-zA-Z0-9._-], starting and ending with a letter or digit)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", dataset).strip("-._") or "dataset"
    return f"ftds-ds-{cleaned}-{content_hash(dataset, length=8)}"[:512]
