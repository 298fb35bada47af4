"""Near-duplicate engines compared side by side in bench_dataset.py (bench code, not the product).

Each function has the signature of ``ftds.tools.dataset.near_dup.near_duplicate_pairs`` and returns
(i, j, similarity) pairs at or above the threshold, so the bench swaps it into ``dedupe_records`` and
every engine runs behind the same record reading, exact pass and union-find. All use the same shingles
(character n-grams of ``shingle_text``: 3 for CJK, 5 otherwise), threshold and permutation count.

* ``previous_ftds``: the engine ftds shipped before (numpy rolling hash per text, one datasketch
  MinHash per record fed with ``update_batch``, datasketch's MinHashLSH, query then insert).
* ``rensa_lsh``: rensa's own objects: ``RMinHash.from_token_sets`` over the n-gram strings,
  ``RMinHashLSH`` (16 bands x 8 rows), ``query_all``, pairs confirmed with ``RMinHash.jaccard``.
* ``datasketch_batch``: datasketch's batch API: ``MinHash.generator`` over the n-gram bytes,
  ``LeanMinHash``, ``MinHashLSH.insertion_session``, pairs confirmed with ``jaccard``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

from ftds.tools.config import DedupeSettings
from ftds.tools.dataset.near_dup import is_cjk, shingle_text

_MULT = np.uint64(0x100000001B3)


def _grams(texts: Sequence[str], settings: DedupeSettings) -> list[list[str]]:
    out = []
    for text in texts:
        clean = shingle_text(text) or "\x00"
        n = settings.cjk_ngram if is_cjk(clean) else settings.latin_ngram
        clean = clean.ljust(n, "\x00")
        out.append([clean[k : k + n] for k in range(len(clean) - n + 1)])
    return out


def _previous_hashes(texts: Sequence[str], settings: DedupeSettings) -> list[np.ndarray]:
    out = []
    for text in texts:
        clean = shingle_text(text) or "\x00"
        n = settings.cjk_ngram if is_cjk(clean) else settings.latin_ngram
        codes = np.frombuffer(clean.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        if len(codes) < n:
            codes = np.concatenate([codes, np.zeros(n - len(codes), dtype=np.uint64)])
        count = len(codes) - n + 1
        h = np.zeros(count, dtype=np.uint64)
        for offset in range(n):
            h = h * _MULT + codes[offset : offset + count]
        out.append(np.unique((h ^ (h >> np.uint64(32))) & np.uint64(0xFFFFFFFF)))
    return out


def _identity(value: int) -> int:
    return value


def previous_ftds(texts: Sequence[str], settings: DedupeSettings, threshold: float | None = None, **_: Any) -> list:
    threshold = settings.near_threshold if threshold is None else threshold
    template = MinHash(num_perm=settings.num_perm, seed=1, hashfunc=_identity)
    minhashes = []
    for hashes in _previous_hashes(texts, settings):
        minhash = MinHash(
            num_perm=settings.num_perm,
            seed=1,
            hashfunc=_identity,
            permutations=template.permutations,
            scheme=template.scheme,
        )
        minhash.update_batch(hashes.tolist())
        minhashes.append(minhash)
    lsh = MinHashLSH(threshold=threshold, num_perm=settings.num_perm)
    pairs = []
    for index, minhash in enumerate(minhashes):
        for other in lsh.query(minhash):
            similarity = float(minhash.jaccard(minhashes[other]))
            if similarity >= threshold:
                pairs.append((other, index, similarity))
        lsh.insert(index, minhash, check_duplication=False)
    return pairs


def rensa_lsh(texts: Sequence[str], settings: DedupeSettings, threshold: float | None = None, **_: Any) -> list:
    import rensa

    threshold = settings.near_threshold if threshold is None else threshold
    minhashes = rensa.RMinHash.from_token_sets(_grams(texts, settings), settings.num_perm, 1)
    lsh = rensa.RMinHashLSH(threshold, settings.num_perm, 16)
    lsh.insert_many(minhashes)
    pairs = []
    for j, candidates in enumerate(lsh.query_all(minhashes)):
        for i in candidates:
            if i < j:
                similarity = minhashes[j].jaccard(minhashes[i])
                if similarity >= threshold:
                    pairs.append((i, j, similarity))
    return pairs


def datasketch_batch(texts: Sequence[str], settings: DedupeSettings, threshold: float | None = None, **_: Any) -> list:
    threshold = settings.near_threshold if threshold is None else threshold
    grams = ([g.encode("utf-8") for g in row] for row in _grams(texts, settings))
    minhashes = [LeanMinHash(m) for m in MinHash.generator(grams, num_perm=settings.num_perm, seed=1)]
    lsh = MinHashLSH(threshold=threshold, num_perm=settings.num_perm)
    with lsh.insertion_session() as session:
        for index, minhash in enumerate(minhashes):
            session.insert(index, minhash, check_duplication=False)
    pairs = []
    for j, minhash in enumerate(minhashes):
        for i in lsh.query(minhash):
            if i < j:
                similarity = float(minhash.jaccard(minhashes[i]))
                if similarity >= threshold:
                    pairs.append((i, j, similarity))
    return pairs
