"""Exact and near-duplicate edges on a Ray cluster (Ray Data), for ``ftds-agent dedupe --executor ray``.

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
``ray start`` cluster). Semantic dedupe stays on the driver (see docs/scaling.md).
"""

from __future__ import annotations

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

RAY_EXTRA_HINT = 'Ray is not installed: pip install "ftds-agent[ray]" (or scripts/setup-ray.sh)'
_STREAM_BATCH = 65536


def _ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError:
        raise ValueError(RAY_EXTRA_HINT) from None
    return ray


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


class RayEngine:
    """A :class:`ftds.tools.dataset.dedupe.DedupeEngine` on Ray: ``address`` of a running cluster, or None for a
    Ray instance started in this process."""

    def __init__(self, address: str | None = None, partitions: int | None = None) -> None:
        self.address = address
        self.partitions = partitions
        self._connected = False

    def close(self) -> None:
        """Disconnect from Ray if this engine connected: a driver left connected to a cluster that then stops
        is ended by Ray itself, so a long-lived process (a test run, a server) must let go first."""
        if self._connected:
            _ray().shutdown()
            self._connected = False

    def _connect(self) -> Any:
        ray = _ray()
        if not ray.is_initialized():
            self._connected = True
            try:
                ray.init(
                    address=self.address,
                    ignore_reinit_error=True,
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:  # what ray.init raises for a bad address
                raise ValueError(
                    f"could not connect to the Ray cluster at {self.address}: {exc}; start one with "
                    "`ray start --head --port PORT` or fix --ray-address"
                ) from None
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

    def edges(self, texts: Sequence[str], settings: DedupeSettings, methods: Sequence[str]) -> Iterator[Edge]:
        ray = self._connect()
        import pyarrow as pa

        count = len(texts)
        blocks = max(2, min(64, count // 5000 + 1))
        step = -(-count // blocks) if count else 1
        tables = [
            pa.table({"idx": np.arange(start, min(start + step, count)), "text": list(texts[start : start + step])})
            for start in range(0, count, step)
        ]
        if not tables:
            return
        cpus = int(ray.cluster_resources().get("CPU", 2))
        partitions = self.partitions or max(2, min(blocks, 4 * cpus))
        self._size_shuffles(ray, partitions)
        records = ray.data.from_arrow(tables)
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
