"""Exact, near-duplicate and semantic edges on a Ray cluster (Ray Data), for ``ftds-agent dedupe --executor ray``.

The work that grows with the data runs on the cluster; the driver only streams the final edges:

1. ``map_batches``: per batch, the cleaned texts' exact keys and rensa MinHash signatures (the same
   functions as the local engine, :mod:`ftds.tools.dataset.near_dup`; a signature depends on its text alone, so
   batching changes nothing);
2. exact duplicates: ``groupby(exact key)``, each later record linked to the first one;
3. LSH: each record exploded to one row per band (band, band key, record, signature), ``groupby`` band
   key, and inside each bucket the edges the local engine draws: copies of one signature linked to its
   first record, distinct signatures paired and confirmed on the whole signature (estimated Jaccard >=
   threshold). Carrying the signature into the shuffle (bands x 512 bytes per record) spares the joins
   a separate confirmation step would need; two shuffles in all for the near pass;
4. the edges are sorted on the cluster in the order the local engine yields them and streamed to the
   driver batch by batch (``iter_batches``); repeats (an edge proved by several bands) arrive next to
   each other and are dropped there, and :func:`ftds.tools.dataset.dedupe.dedupe_records`'s union-find consumes
   the rest. Connected components are therefore computed on the driver, over edges only: its memory is
   one parent slot per record (which the driver already holds, since it writes the kept records) plus
   one batch of edges, never the signatures, buckets or candidate pairs. There is at most one edge per
   duplicate relation, far fewer than the records in any dataset worth deduplicating.

Same edges, same order, same union-find: the same clusters as the local engine (tested on a real
``ray start`` cluster).

Semantic dedupe (:meth:`RayEngine.semantic`):

1. embedding: ``map_batches`` on an actor pool, each actor loading the embedder once
   (:func:`ftds.tools.dataset.semantic.make_embedder`, or the embedder object the caller passed);
2. the vectors are sorted by record and cut into tiles of at most ``tile_rows`` records, kept in the
   object store;
3. the search: one row per pair of tiles (a <= b), ``map_batches`` computes each pair's matrix product
   of unit vectors (:func:`ftds.tools.dataset.semantic.tile_pairs`) and emits only the pairs at or above
   the threshold, so no worker holds more than two tiles and their product, and the driver never sees the
   vectors' pairwise matrix. This is the exact all-pairs search the local engine does (n^2/2 dot
   products, spread over the cluster), not an approximate index;
4. the pairs are sorted on the cluster in the local order and streamed to the driver's union-find, as
   the near edges are.

The memory of earlier runs (a store folder or a Chroma server) is queried and updated on the driver,
with the vectors streamed to it tile by tile (never all at once): an embedded Chroma store is a folder
one process may open, and querying in the same batches and upserting in the same order as the local
engine keeps the memory the same whichever engine wrote it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ftds.tools.config import DedupeSettings
from ftds.tools.dataset.dedupe import Edge, _exact_key_of_clean
from ftds.tools.dataset.near_dup import (
    band_keys,
    clean_texts,
    digest_rows,
    group_pairs,
    pair_similarity,
    shingle_hashes,
)
from ftds.tools.dataset.semantic import Embedder, Pair, VectorBatch, embedder_name, tile_pairs
from ftds.tools.ray_connection import RayConnection

_STREAM_BATCH = 65536


def signature_batch(batch: dict[str, np.ndarray], settings_json: str, methods: list[str]) -> dict[str, Any]:
    """Stage 1: exact keys and signatures of one batch of (idx, text) rows."""
    settings = DedupeSettings.model_validate_json(settings_json)
    texts = [str(t) for t in batch["text"]]
    cleaned = clean_texts(texts)
    out: dict[str, Any] = {"idx": np.asarray(batch["idx"], dtype=np.int64)}
    if "exact" in methods:
        out["exact"] = np.array([_exact_key_of_clean(c) for c in cleaned], dtype=object)
    if "near" in methods:
        hashes, offsets = shingle_hashes(texts, settings, cleaned)
        signatures = digest_rows(hashes, offsets, settings.num_perm)
        out["sig"] = signatures
    return out


def exact_star(group: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Stage 2: in one exact-key group, every later record linked to the first."""
    idx = np.sort(np.asarray(group["idx"], dtype=np.int64))
    return {"i": np.full(len(idx) - 1, idx[0], dtype=np.int64), "j": idx[1:]}


def explode_bands(batch: dict[str, np.ndarray], threshold: float) -> dict[str, np.ndarray]:
    """Stage 2: one (band, key, idx, signature) row per record and band."""
    signatures = np.stack(list(batch["sig"])).astype(np.uint32)
    keys = band_keys(signatures, threshold)
    bands = keys.shape[1]
    return {
        "band": np.tile(np.arange(bands, dtype=np.int64), len(signatures)),
        "key": keys.reshape(-1),
        "idx": np.repeat(np.asarray(batch["idx"], dtype=np.int64), bands),
        "sig": np.repeat(signatures, bands, axis=0),
    }


def bucket_edges(group: dict[str, np.ndarray], threshold: float) -> dict[str, np.ndarray]:
    """Stage 3: the edges one band bucket proves, as the local engine draws them.

    Copies of one signature always share every bucket, so here they are linked to their first record
    (similarity 1.0); the distinct signatures' first records are paired and confirmed on the whole
    signature (estimated Jaccard >= threshold). Another bucket may prove the same edge again; the driver
    drops the repeats, which arrive next to each other after the sort."""
    order = np.argsort(np.asarray(group["idx"], dtype=np.int64), kind="stable")
    idx = np.asarray(group["idx"], dtype=np.int64)[order]
    signatures = np.ascontiguousarray(np.stack(list(group["sig"]))[order].astype(np.uint32))
    whole = signatures.view(np.dtype((np.void, signatures.dtype.itemsize * signatures.shape[1]))).ravel()
    _, first, inverse = np.unique(whole, return_index=True, return_inverse=True)
    representative = first[inverse.ravel()]
    copies = np.flatnonzero(representative != np.arange(len(idx)))
    reps = np.sort(first)
    pairs = group_pairs(np.zeros(len(reps), dtype=np.uint64), reps)  # positions, first < second
    similarity = pair_similarity(signatures, signatures, pairs)
    keep = similarity >= threshold
    return {
        "i": np.concatenate([idx[representative[copies]], idx[pairs[keep, 0]]]),
        "j": np.concatenate([idx[copies], idx[pairs[keep, 1]]]),
        "sim": np.concatenate([np.ones(len(copies)), similarity[keep]]),
    }


class EmbedBatch:
    """Stage 1 of the semantic pass, an actor of the pool: loads the embedder once, embeds batch after batch."""

    def __init__(self, settings_json: str, embedder: Embedder | None = None) -> None:
        from ftds.tools.dataset.semantic import make_embedder

        self.embedder = embedder or make_embedder(DedupeSettings.model_validate_json(settings_json))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.embedder.embed([str(t) for t in batch["text"]])
        return {"idx": np.asarray(batch["idx"], dtype=np.int64), "vec": np.asarray(vectors, dtype=np.float32)}


def tile_pair_edges(batch: dict[str, np.ndarray], tiles: list[Any], threshold: float) -> dict[str, np.ndarray]:
    """Stage 3 of the semantic pass: the pairs above ``threshold`` of each (a, b) pair of tiles in the batch
    (``tiles``: object refs of ``{"idx", "vec"}`` blocks, fetched here, on the worker)."""
    import ray

    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for a, b in zip(batch["a"].tolist(), batch["b"].tolist(), strict=True):
        first, second = ray.get([tiles[a], tiles[b]])
        found.append(tile_pairs(first["idx"], first["vec"], second["idx"], second["vec"], threshold, a == b))
    if not found:
        return {"i": np.zeros(0, np.int64), "j": np.zeros(0, np.int64), "sim": np.zeros(0, np.float32)}
    return {
        "i": np.concatenate([f[0] for f in found]).astype(np.int64),
        "j": np.concatenate([f[1] for f in found]).astype(np.int64),
        "sim": np.concatenate([f[2] for f in found]).astype(np.float32),
    }


def tile_span(tile: dict[str, np.ndarray]) -> tuple[int, int] | None:
    """(first, last) record of a tile, None when it is empty."""
    idx = tile["idx"]
    return (int(idx.min()), int(idx.max())) if len(idx) else None


class RaySearch:
    """The embeddings of one run, held in the cluster's object store as tiles sorted by record
    (a :class:`ftds.tools.dataset.dedupe.SemanticSearch`)."""

    def __init__(self, ray: Any, tiles: list[Any], threshold: float, name: str, partitions: int) -> None:
        self._ray = ray
        self._tiles = tiles
        self._threshold = threshold
        self._partitions = partitions
        self.embedder_name = name

    def pairs(self) -> Iterator[Pair]:
        ray = self._ray
        count = len(self._tiles)
        if not count:
            return
        import pyarrow as pa

        a, b = np.triu_indices(count)
        pairs = ray.data.from_arrow(pa.table({"a": a.astype(np.int64), "b": b.astype(np.int64)}))
        edges = (
            pairs.repartition(min(len(a), self._partitions))
            .map_batches(
                tile_pair_edges,
                batch_format="numpy",
                batch_size=1,
                fn_kwargs={"tiles": self._tiles, "threshold": self._threshold},
            )
            .sort(["j", "i"])
        )
        for batch in edges.iter_batches(batch_size=_STREAM_BATCH, batch_format="numpy"):
            yield from zip(batch["i"].tolist(), batch["j"].tolist(), batch["sim"].tolist(), strict=True)

    def vectors(self, indices: Sequence[int] | None = None) -> Iterator[VectorBatch]:
        """Tile by tile (the tiles are in record order), only the records asked for: the driver holds one tile."""
        chosen = None if indices is None else np.asarray(sorted(indices), dtype=np.int64)
        for ref in self._tiles:
            tile = self._ray.get(ref)
            idx, vec = tile["idx"], tile["vec"]
            if chosen is not None:
                keep = np.isin(idx, chosen, assume_unique=True)
                idx, vec = idx[keep], vec[keep]
            if len(idx):
                yield idx, vec


class RayEngine:
    """A :class:`ftds.tools.dataset.dedupe.DedupeEngine` on Ray: ``address`` of a running cluster, or None for a
    Ray instance started in this process. ``tile_rows`` bounds the records per tile of the semantic search
    (two tiles and their product, 4096^2 floats = 64 MB by default, are what one worker holds at a time)."""

    def __init__(self, address: str | None = None, partitions: int | None = None, tile_rows: int = 4096) -> None:
        self.address = address
        self.partitions = partitions
        self.tile_rows = tile_rows
        self._connection = RayConnection(address)

    def close(self) -> None:
        """Let go of the cluster (:class:`ftds.tools.ray_connection.RayConnection`)."""
        self._connection.close()

    def _connect(self) -> Any:
        ray = self._connection.open()
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        return ray

    def _size_shuffles(self, ray: Any, partitions: int) -> None:
        """Ray Data defaults to 200 hash partitions and min_parallelism 200, tuned for big clusters; on a
        few nodes that is hundreds of tiny tasks per shuffle. Size them by the data and the cluster."""
        ctx = ray.data.DataContext.get_current()
        ctx.default_hash_shuffle_parallelism = partitions
        ctx.min_parallelism = partitions
        ctx.max_hash_shuffle_aggregators = partitions
        # the shuffle's aggregator actors mostly wait on their inputs; a whole CPU each starves the tasks
        # that feed them on a small cluster (Ray warns "no available CPUs" and the job crawls)
        ctx.hash_shuffle_operator_actor_num_cpus_override = 0.1
        ctx.hash_aggregate_operator_actor_num_cpus_override = 0.1

    def _records(self, ray: Any, texts: Sequence[str]) -> tuple[Any, int]:
        """The (idx, text) rows as a Ray dataset in up to 64 blocks, and the shuffles' partition count."""
        import pyarrow as pa

        count = len(texts)
        blocks = max(2, min(64, count // 5000 + 1))
        step = -(-count // blocks)
        tables = [
            pa.table({"idx": np.arange(start, min(start + step, count)), "text": list(texts[start : start + step])})
            for start in range(0, count, step)
        ]
        cpus = int(ray.cluster_resources().get("CPU", 2))
        partitions = self.partitions or max(2, min(blocks, 4 * cpus))
        self._size_shuffles(ray, partitions)
        return ray.data.from_arrow(tables), partitions

    def semantic(self, texts: Sequence[str], settings: DedupeSettings, embedder: Embedder | None = None) -> RaySearch:
        """Embed on an actor pool and keep the vectors on the cluster, tiled for the pairs search."""
        ray = self._connect()
        name = embedder.name if embedder is not None else embedder_name(settings)
        if not texts:
            return RaySearch(ray, [], settings.semantic_threshold, name, 1)
        records, partitions = self._records(ray, texts)
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        embedded = records.map_batches(
            EmbedBatch,
            batch_format="numpy",
            batch_size=min(1024, -(-len(texts) // (2 * cpus))),
            fn_constructor_kwargs={"settings_json": settings.model_dump_json(), "embedder": embedder},
            compute=ray.data.ActorPoolStrategy(min_size=1, max_size=cpus),
            num_cpus=1,
        )
        tiles = embedded.sort("idx").repartition(-(-len(texts) // self.tile_rows)).materialize()
        refs = tiles.to_numpy_refs()
        found = ray.get([ray.remote(tile_span).remote(ref) for ref in refs])
        spans = sorted(((span, ref) for span, ref in zip(found, refs, strict=True) if span), key=lambda t: t[0])
        for ((_, last), _), ((first, _), _) in itertools.pairwise(spans):
            if first <= last:  # the sort gives ranges; a tile mixing them would break the record order
                raise RuntimeError("Ray Data returned tiles that are not contiguous ranges of records")
        return RaySearch(ray, [ref for _, ref in spans], settings.semantic_threshold, name, partitions)

    def edges(self, texts: Sequence[str], settings: DedupeSettings, methods: Sequence[str]) -> Iterator[Edge]:
        ray = self._connect()
        if not texts:
            return
        records, partitions = self._records(ray, texts)
        wanted = [m for m in methods if m in ("exact", "near")]
        sigs = records.map_batches(
            signature_batch,
            batch_format="numpy",
            fn_kwargs={"settings_json": settings.model_dump_json(), "methods": wanted},
        ).materialize()
        if "exact" in wanted:
            exact = (
                sigs.select_columns(["idx", "exact"])
                .groupby("exact", num_partitions=partitions)
                .map_groups(exact_star, batch_format="numpy")
            )
            for batch in exact.sort("j").iter_batches(batch_size=_STREAM_BATCH, batch_format="numpy"):
                for i, j in zip(batch["i"].tolist(), batch["j"].tolist(), strict=True):
                    yield i, j, "exact", 1.0
        if "near" in wanted:
            yield from self._near(sigs.select_columns(["idx", "sig"]), settings, partitions)

    def _near(self, sigs: Any, settings: DedupeSettings, partitions: int) -> Iterator[Edge]:
        threshold = settings.near_threshold
        edges = (
            sigs.map_batches(explode_bands, batch_format="numpy", fn_kwargs={"threshold": threshold})
            .groupby(["band", "key"], num_partitions=partitions)
            .map_groups(bucket_edges, batch_format="numpy", fn_kwargs={"threshold": threshold})
            .sort(["j", "i"])
        )
        previous = (-1, -1)
        for batch in edges.iter_batches(batch_size=_STREAM_BATCH, batch_format="numpy"):
            for i, j, similarity in zip(batch["i"].tolist(), batch["j"].tolist(), batch["sim"].tolist(), strict=True):
                if (i, j) != previous:
                    previous = (i, j)
                    yield i, j, "near", similarity
