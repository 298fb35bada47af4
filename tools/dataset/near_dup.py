"""Near-duplicate detection with MinHash LSH over character n-grams.

Character n-grams work for Chinese and Japanese, which have no spaces to split words on; CJK text uses
short grams (3), other scripts longer ones (5). The work is split where each part is fastest:

* shingle hashing: one vectorised numpy pass over all texts at once (a rolling polynomial hash finished
  with a 64-bit mixer), not one numpy call per text;
* MinHash signatures: rensa (Rust) from one flat hash buffer, no Python object per record; rensa's
  LSH index also flags, in Rust, the records sharing a band with another, and only those records'
  signatures are handed to Python;
* LSH: banded signature keys grouped with numpy sorts, candidate pairs confirmed by the MinHash Jaccard
  estimate over the whole signature (the no-wrong-merge check: sharing one band is not enough).

The band keys and the confirmation are plain functions of the signature matrix, so a distributed
executor can compute them per batch and get the same pairs as this module. The band shape
(:func:`lsh_shape`) favours recall: a candidate costs one signature comparison, a missed one is lost.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import rensa

from ftds.tools.config import DedupeSettings

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_SPACE = re.compile(r"\s+")
_MULT = np.uint64(0x100000001B3)  # FNV-style multiplier for the rolling hash (wraps mod 2**64)
_SEED = 1
_CONFIRM_BLOCK = 65536  # candidate pairs compared per numpy step (memory: block x num_perm bytes)
_CHUNK_TEXTS = 50_000  # texts cleaned and hashed per step: bounds the temporaries (~150 MB a step)


def shingle_text(text: str) -> str:
    """Width/case-folded text with whitespace collapsed: what two near-duplicates share."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def is_cjk(text: str, share: float = 0.3) -> bool:
    sample = text[:400]
    return bool(sample) and len(_CJK.findall(sample)) >= share * len(sample)


def _mix64(values: np.ndarray) -> np.ndarray:
    """murmur3's 64-bit finaliser, in place: spreads the polynomial hash's weak low bits over the word."""
    shift = np.uint64(33)
    scratch = values >> shift
    values ^= scratch
    values *= np.uint64(0xFF51AFD7ED558CCD)
    np.right_shift(values, shift, out=scratch)
    values ^= scratch
    values *= np.uint64(0xC4CEB9FE1A85EC53)
    np.right_shift(values, shift, out=scratch)
    values ^= scratch
    return values


def clean_texts(texts: Sequence[str]) -> list[str]:
    """:func:`shingle_text` of every text, in one NFKC/casefold/regex pass over all texts joined by NUL
    (no character composes across NUL, so this equals cleaning one by one); per text if one holds a NUL."""
    if len(texts) > _CHUNK_TEXTS:
        steps = range(0, len(texts), _CHUNK_TEXTS)
        return [clean for start in steps for clean in clean_texts(texts[start : start + _CHUNK_TEXTS])]
    if not any("\x00" in text for text in texts):
        joined = _SPACE.sub(" ", unicodedata.normalize("NFKC", "\x00".join(texts)).casefold())
        pieces = joined.split("\x00")
        if len(pieces) == len(texts):
            return [piece.strip() for piece in pieces]
    return [shingle_text(text) for text in texts]


_CJK_RANGES = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF))


def shingle_hashes(
    texts: Sequence[str], settings: DedupeSettings, cleaned: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every text's character n-grams (n by script, :func:`is_cjk`) in one flat array,
    and the row offsets (``offsets[k]:offsets[k+1]`` are text k's). A text shorter than n is one
    zero-padded gram. ``cleaned`` (from :func:`clean_texts`) saves cleaning twice."""
    pieces = list(cleaned) if cleaned is not None else clean_texts(texts)
    widest = max(settings.cjk_ngram, settings.latin_ngram)
    lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
    # texts separated by `widest` zeros, so a short text's one gram reads zero padding, as before
    pad = "\x00" * widest
    codes32 = np.frombuffer((pad.join(pieces) + pad).encode("utf-32-le"), dtype=np.uint32)
    starts = np.zeros(len(pieces), dtype=np.int64)
    np.cumsum(lengths[:-1] + widest, out=starts[1:])
    # is_cjk, vectorised: CJK share of each text's first 400 characters
    cjk = np.zeros(len(codes32), dtype=bool)
    for low, high in _CJK_RANGES:
        cjk |= (codes32 >= low) & (codes32 <= high)
    running = np.zeros(len(codes32) + 1, dtype=np.int64)
    np.cumsum(cjk, out=running[1:])
    head = np.minimum(lengths, 400)
    cjk_share = running[starts + head] - running[starts]
    grams = np.where((head > 0) & (cjk_share >= 0.3 * head), settings.cjk_ngram, settings.latin_ngram)
    counts = np.maximum(lengths - grams + 1, 1)
    offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    # position of each output gram in the code array: its text's start plus its rank inside the text
    positions = np.repeat(starts - offsets[:-1], counts)
    positions += np.arange(offsets[-1], dtype=np.int64)
    codes = codes32.astype(np.uint64)
    hashes = np.zeros(offsets[-1], dtype=np.uint64)
    gram_of = np.repeat(grams, counts)
    for n in np.unique(grams).tolist():
        window = codes[: len(codes) - n + 1].copy()
        for shift in range(1, n):
            window *= _MULT
            window += codes[shift : shift + len(window)]
        take = gram_of == n
        hashes[take] = window[positions[take]]
    return _mix64(hashes), offsets


def shingle_sets(texts: Sequence[str], settings: DedupeSettings) -> list[np.ndarray]:
    """Each text's distinct shingle hashes (for exact Jaccard between a few texts, e.g. confirming a pair)."""
    hashes, offsets = shingle_hashes(texts, settings)
    return [np.unique(hashes[offsets[k] : offsets[k + 1]]) for k in range(len(texts))]


def digest_rows(hashes: np.ndarray, offsets: np.ndarray, num_perm: int) -> np.ndarray:
    matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(hashes, offsets, num_perm, _SEED)
    return np.array(matrix.to_rows(), dtype=np.uint32).reshape(len(offsets) - 1, num_perm)


def signature_matrix(texts: Sequence[str], settings: DedupeSettings) -> np.ndarray:
    """rensa R-MinHash signatures, one uint32 row of ``num_perm`` values per text."""
    if not texts:
        return np.zeros((0, settings.num_perm), dtype=np.uint32)
    hashes, offsets = shingle_hashes(texts, settings)
    return digest_rows(hashes, offsets, settings.num_perm)


def banded_rows(
    texts: Sequence[str], settings: DedupeSettings, threshold: float, cleaned: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(row indices, their signatures) for the texts that share at least one LSH band with another.

    rensa computes every signature and, with its LSH index, flags the rows with a band in common (in Rust,
    without handing the matrix to Python); only those rows' signatures are materialised, since a record that
    shares no band with any other cannot be in a candidate pair. Texts go in steps of ``_CHUNK_TEXTS``: every
    step's signatures are indexed first, then every step is queried, so a band shared across steps counts.
    Both use the same contiguous band layout (checked by tests/tools/test_near_dup.py)."""
    empty = np.zeros(0, dtype=np.int64), np.zeros((0, settings.num_perm), dtype=np.uint32)
    if len(texts) < 2:
        return empty
    bands, _ = lsh_shape(threshold, settings.num_perm)
    index = rensa.RMinHashLSH(threshold, settings.num_perm, bands)
    steps = []
    for start in range(0, len(texts), _CHUNK_TEXTS):
        stop = start + _CHUNK_TEXTS
        hashes, offsets = shingle_hashes(texts[start:stop], settings, cleaned[start:stop] if cleaned else None)
        matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(hashes, offsets, settings.num_perm, _SEED)
        index.insert_matrix(matrix, start)
        steps.append((start, hashes, offsets, matrix))
    found_rows, found_signatures = [empty[0]], [empty[1]]
    for start, hashes, offsets, matrix in steps:
        flags = np.asarray(index.query_duplicate_flags_matrix(matrix), dtype=bool)
        rows = np.flatnonzero(flags)
        if not len(rows):
            continue
        counts = np.diff(offsets)
        sub_offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(counts[rows], out=sub_offsets[1:])
        found_rows.append(rows + start)
        found_signatures.append(digest_rows(hashes[np.repeat(flags, counts)], sub_offsets, settings.num_perm))
    return np.concatenate(found_rows), np.concatenate(found_signatures)


@lru_cache(maxsize=32)
def lsh_shape(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band), bands x rows = num_perm. Every candidate is confirmed on the whole
    signature, so a false positive costs one comparison while a false negative loses a duplicate:
    of the exact factorisations, the one with the least false-positive mass whose false-negative mass
    (the integrals datasketch uses, over similarities below / above the threshold) is at most 1 %,
    else the one missing the least."""
    shapes = [(bands, num_perm // bands) for bands in range(1, num_perm + 1) if num_perm % bands == 0]
    below, above = np.linspace(0.0, threshold, 2001), np.linspace(threshold, 1.0, 2001)
    scored = []
    for b, r in shapes:
        false_positive = np.trapezoid(1 - (1 - below**r) ** b, below)
        false_negative = np.trapezoid((1 - above**r) ** b, above)
        scored.append((float(false_negative), float(false_positive), b, r))
    safe = [s for s in scored if s[0] <= 0.01]
    _, _, bands, rows = min(safe, key=lambda s: s[1]) if safe else min(scored)
    return bands, rows


def band_keys(signatures: np.ndarray, threshold: float) -> np.ndarray:
    """One 64-bit key per (record, band): records sharing a key in some band are LSH candidates."""
    bands, rows = lsh_shape(threshold, signatures.shape[1])
    keys = np.zeros((len(signatures), bands), dtype=np.uint64)
    for band in range(bands):
        key = np.full(len(signatures), band + 1, dtype=np.uint64)
        for column in range(band * rows, (band + 1) * rows):
            key *= _MULT
            key += signatures[:, column]
            key = _mix64(key)
        keys[:, band] = key
    return keys


def signature_keys(signatures: np.ndarray) -> np.ndarray:
    """One 64-bit key per whole signature row (equal rows share it; a distributed group by it re-checks
    equality, since distinct rows may collide)."""
    key = np.full(len(signatures), 0x9E3779B97F4A7C15, dtype=np.uint64)
    for column in range(signatures.shape[1]):
        key *= _MULT
        key += signatures[:, column]
        key = _mix64(key)
    return key


def group_pairs(keys: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Every (a, b) pair of ``members`` that share a key, as an (m, 2) array with a < b."""
    order = np.argsort(keys, kind="stable")
    keys, members = keys[order], members[order]
    if len(keys) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    boundary = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1], [True]]))
    sizes = np.diff(boundary)
    found = [np.zeros((0, 2), dtype=np.int64)]
    for size in np.unique(sizes[sizes > 1]).tolist():
        group_starts = boundary[:-1][sizes == size]
        groups = members[group_starts[:, None] + np.arange(size)]  # (groups, size)
        left, right = np.triu_indices(size, 1)
        pairs = np.stack([groups[:, left].ravel(), groups[:, right].ravel()], axis=1)
        found.append(np.sort(pairs, axis=1))
    return np.concatenate(found)


def estimated_jaccard(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Share of equal signature positions, row by row (the MinHash estimate of the Jaccard index)."""
    out = np.empty(len(left), dtype=np.float64)
    for start in range(0, len(left), _CONFIRM_BLOCK):
        stop = start + _CONFIRM_BLOCK
        out[start:stop] = (left[start:stop] == right[start:stop]).mean(axis=1)
    return out


def pair_similarity(left: np.ndarray, right: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Estimated Jaccard of ``left[pairs[:, 0]]`` and ``right[pairs[:, 1]]``, gathered block by block (a
    band of a million records can hold millions of candidates; their signatures are never all copied)."""
    out = np.empty(len(pairs), dtype=np.float64)
    for start in range(0, len(pairs), _CONFIRM_BLOCK):
        block = pairs[start : start + _CONFIRM_BLOCK]
        out[start : start + len(block)] = (left[block[:, 0]] == right[block[:, 1]]).mean(axis=1)
    return out


def _confirmed(
    pairs: np.ndarray, left: np.ndarray, right: np.ndarray, threshold: float
) -> list[tuple[int, int, float]]:
    if not len(pairs):
        return []
    similarity = pair_similarity(left, right, pairs)
    keep = similarity >= threshold
    return list(zip(pairs[keep, 0].tolist(), pairs[keep, 1].tolist(), similarity[keep].tolist(), strict=True))


def confirmed_pairs(signatures: np.ndarray, threshold: float) -> list[tuple[int, int, float]]:
    """(i, j, estimated Jaccard), i < j, for rows sharing at least one LSH band whose whole signatures
    agree at the threshold. Candidates are confirmed band by band, so memory holds one band's candidates,
    not all of them. Records with identical signatures are collapsed to their first member first (linked
    to it directly, similarity 1.0), so a mass of copies costs one row, not a quadratic number of pairs;
    connectivity is the same as pairing them all. Indices into ``signatures``."""
    count = len(signatures)
    if count < 2:
        return []
    width = signatures.dtype.itemsize * signatures.shape[1]
    whole = np.ascontiguousarray(signatures).view(np.dtype((np.void, width))).ravel()
    _, first, inverse = np.unique(whole, return_index=True, return_inverse=True)
    representative = first[inverse.ravel()]
    copies = np.flatnonzero(representative != np.arange(count))
    found_keys = [representative[copies].astype(np.int64) * count + copies]
    found_similarity = [np.ones(len(copies))]
    unique_rows = np.sort(first)
    keys = band_keys(signatures[unique_rows], threshold)
    for band in range(keys.shape[1]):
        pairs = group_pairs(keys[:, band], unique_rows)
        if not len(pairs):
            continue
        similarity = pair_similarity(signatures, signatures, pairs)
        keep = similarity >= threshold
        found_keys.append(pairs[keep, 0] * count + pairs[keep, 1])
        found_similarity.append(similarity[keep])
    flat, where = np.unique(np.concatenate(found_keys), return_index=True)
    similarity = np.concatenate(found_similarity)[where]
    return list(zip((flat // count).tolist(), (flat % count).tolist(), similarity.tolist(), strict=True))


def near_duplicate_pairs(
    texts: Sequence[str],
    settings: DedupeSettings,
    threshold: float | None = None,
    cleaned: Sequence[str] | None = None,
) -> list[tuple[int, int, float]]:
    """(i, j, estimated Jaccard) for i < j whose similarity reaches the threshold, ordered by (j, i).
    ``cleaned`` (:func:`clean_texts` of the texts) saves cleaning them again."""
    threshold = settings.near_threshold if threshold is None else threshold
    rows, signatures = banded_rows(texts, settings, threshold, cleaned)
    found = [(int(rows[a]), int(rows[b]), similarity) for a, b, similarity in confirmed_pairs(signatures, threshold)]
    return sorted(found, key=lambda pair: (pair[1], pair[0]))


def cross_pairs(
    left: Sequence[str], right: Sequence[str], settings: DedupeSettings, threshold: float
) -> list[tuple[int, int, float]]:
    """(i in left, j in right, similarity) near-duplicate pairs between two collections (leakage)."""
    if not left or not right:
        return []
    left_sigs, right_sigs = signature_matrix(left, settings), signature_matrix(right, settings)
    left_keys, right_keys = band_keys(left_sigs, threshold), band_keys(right_sigs, threshold)
    offset = len(left)
    members = np.arange(offset + len(right), dtype=np.int64)
    found = []
    for band in range(left_keys.shape[1]):
        pairs = group_pairs(np.concatenate([left_keys[:, band], right_keys[:, band]]), members)
        found.append(pairs[(pairs[:, 0] < offset) & (pairs[:, 1] >= offset)])
    pairs = np.concatenate(found)
    flat = np.unique(pairs[:, 0] * (offset + len(right)) + pairs[:, 1] - offset)
    pairs = np.stack([flat // (offset + len(right)), flat % (offset + len(right))], axis=1)
    return sorted(_confirmed(pairs, left_sigs, right_sigs, threshold), key=lambda pair: (pair[1], pair[0]))
