"""Near-duplicate detection with MinHash LSH over character n-grams (datasketch).

Character n-grams work for Chinese and Japanese, which have no spaces to split words on; CJK text uses
short grams (3), other scripts longer ones (5). Shingles are hashed with numpy in one pass over all texts
(a rolling polynomial hash), then datasketch's own MinHash permutations and LSH index do the rest: the
per-shingle Python hashing a naive datasketch loop pays for is what dominates its run time.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np
from datasketch import MinHash, MinHashLSH

from ftds.tools.config import DedupeSettings

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_SPACE = re.compile(r"\s+")
_MULT = np.uint64(0x100000001B3)  # FNV-style multiplier for the rolling hash (wraps mod 2**64)


def shingle_text(text: str) -> str:
    """Width/case-folded text with whitespace collapsed: what two near-duplicates share."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def is_cjk(text: str, share: float = 0.3) -> bool:
    sample = text[:400]
    return bool(sample) and len(_CJK.findall(sample)) >= share * len(sample)


def shingle_hashes(texts: Sequence[str], settings: DedupeSettings) -> list[np.ndarray]:
    """64-bit hashes of each text's character n-grams (n by script), computed for all texts at once."""
    out: list[np.ndarray] = []
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
        out.append(np.unique((h ^ (h >> np.uint64(32))) & np.uint64(0xFFFFFFFF)))  # 32-bit for affine32
    return out


def _identity(value: int) -> int:
    return value


def signatures(texts: Sequence[str], settings: DedupeSettings, seed: int = 1) -> list[MinHash]:
    """datasketch MinHash of each text, sharing one set of permutations."""
    template = MinHash(num_perm=settings.num_perm, seed=seed, hashfunc=_identity)
    permutations = template.permutations
    result = []
    for hashes in shingle_hashes(texts, settings):
        minhash = MinHash(
            num_perm=settings.num_perm, seed=seed, hashfunc=_identity, permutations=permutations, scheme=template.scheme
        )
        minhash.update_batch(hashes.tolist())
        result.append(minhash)
    return result


def near_duplicate_pairs(
    texts: Sequence[str], settings: DedupeSettings, threshold: float | None = None
) -> list[tuple[int, int, float]]:
    """(i, j, estimated Jaccard) for i < j whose similarity reaches the threshold."""
    threshold = settings.near_threshold if threshold is None else threshold
    minhashes = signatures(texts, settings)
    lsh = MinHashLSH(threshold=threshold, num_perm=settings.num_perm)
    pairs: list[tuple[int, int, float]] = []
    for index, minhash in enumerate(minhashes):
        for other in lsh.query(minhash):
            similarity = float(minhash.jaccard(minhashes[other]))
            if similarity >= threshold:
                pairs.append((other, index, similarity))
        lsh.insert(index, minhash, check_duplication=False)
    return pairs


def cross_pairs(
    left: Sequence[str], right: Sequence[str], settings: DedupeSettings, threshold: float
) -> list[tuple[int, int, float]]:
    """(i in left, j in right, similarity) near-duplicate pairs between two collections (leakage)."""
    if not left or not right:
        return []
    left_hashes = signatures(left, settings)
    lsh = MinHashLSH(threshold=threshold, num_perm=settings.num_perm)
    for index, minhash in enumerate(left_hashes):
        lsh.insert(index, minhash, check_duplication=False)
    pairs = []
    for j, minhash in enumerate(signatures(right, settings)):
        for i in lsh.query(minhash):
            similarity = float(minhash.jaccard(left_hashes[i]))
            if similarity >= threshold:
                pairs.append((i, j, similarity))
    return pairs
