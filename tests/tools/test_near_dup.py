"""The MinHash LSH engine: vectorised hashing equals per-text hashing, LSH pairs equal a brute-force scan
over the same signatures, and the rensa prefilter never drops a pair our own banding would find."""

from __future__ import annotations

import random

import numpy as np
import pytest

from ftds.tools.config import DedupeSettings
from ftds.tools.dataset.dedupe import dedupe_records
from ftds.tools.dataset.near_dup import (
    band_keys,
    banded_rows,
    clean_texts,
    cross_pairs,
    estimated_jaccard,
    is_cjk,
    lsh_shape,
    near_duplicate_pairs,
    shingle_hashes,
    shingle_text,
    signature_matrix,
)

WORDS = ["court", "party", "notice", "consent", "breach", "remedy", "damages", "record", "owner", "agency"]
HAN = list("国家机关企业个人组织数据信息安全保护管理制度责任义务权利合同履行违约赔偿登记审批监督")


def _texts(count: int, seed: int = 3) -> list[str]:
    """Distinct texts plus edited copies (one word/character changed), Chinese and English, and oddities."""
    rng = random.Random(seed)
    base = []
    for i in range(count):
        if i % 2:
            base.append(f"第{i}条：" + "".join(rng.choice(HAN) for _ in range(30)))
        else:
            base.append(f"Clause {i}: " + " ".join(rng.choice(WORDS) for _ in range(14)))
    copies = []
    for text in rng.sample(base, count // 4):
        cut = rng.randrange(len(text) // 2, len(text) - 1)
        copies.append(text[:cut] + ("X" if text.isascii() else "某") + text[cut + 1 :])
    return base + copies + ["", "ab", "  Ａ  ", "什么", "x\ty\nz"]


def _brute_force(signatures: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    keys = band_keys(signatures, threshold)
    found = set()
    for i in range(len(signatures)):
        for j in range(i + 1, len(signatures)):
            if (keys[i] == keys[j]).any() and (signatures[i] == signatures[j]).mean() >= threshold:
                found.add((i, j))
    return found


def test_bulk_cleaning_and_hashing_equal_one_text_at_a_time() -> None:
    settings = DedupeSettings()
    texts = _texts(60)
    assert clean_texts(texts) == [shingle_text(t) for t in texts]
    assert clean_texts(["a\x00b", " C "]) == ["a\x00b", "c"]  # a NUL inside falls back to per-text cleaning
    hashes, offsets = shingle_hashes(texts, settings)
    for index, text in enumerate(texts):
        alone, alone_offsets = shingle_hashes([text], settings)
        assert np.array_equal(hashes[offsets[index] : offsets[index + 1]], alone)  # batch-independent
        clean = shingle_text(text) or "\x00"
        n = settings.cjk_ngram if is_cjk(clean) else settings.latin_ngram
        assert alone_offsets[-1] == max(len(shingle_text(text)) - n + 1, 1)


def test_near_pairs_equal_a_brute_force_scan_and_every_pair_reaches_the_threshold() -> None:
    settings = DedupeSettings()
    texts = _texts(120)
    signatures = signature_matrix(texts, settings)
    found = near_duplicate_pairs(texts, settings)
    assert {(i, j) for i, j, _ in found} == _brute_force(signatures, settings.near_threshold)
    assert len(found) >= 25  # the edited copies are found
    for i, j, similarity in found:
        assert i < j and similarity >= settings.near_threshold
        assert similarity == estimated_jaccard(signatures[[i]], signatures[[j]])[0]


def test_rensa_prefilter_keeps_every_row_that_shares_one_of_our_bands() -> None:
    settings = DedupeSettings(near_threshold=0.5)  # a low threshold: many partial band matches
    texts = _texts(200, seed=9)
    signatures = signature_matrix(texts, settings)
    keys = band_keys(signatures, 0.5)
    sharing = set()
    for band in range(keys.shape[1]):
        values, counts = np.unique(keys[:, band], return_counts=True)
        sharing |= set(np.flatnonzero(np.isin(keys[:, band], values[counts > 1])).tolist())
    rows, subset = banded_rows(texts, settings, 0.5)
    assert sharing and sharing <= set(rows.tolist())
    assert np.array_equal(subset, signatures[rows])
    assert lsh_shape(0.8, 128) == (16, 8)


def test_working_in_steps_finds_the_same_pairs_across_step_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    import ftds.tools.dataset.near_dup as near_dup

    settings = DedupeSettings()
    texts = _texts(120, seed=4)
    whole = near_duplicate_pairs(texts, settings)
    monkeypatch.setattr(near_dup, "_CHUNK_TEXTS", 37)  # copies sit in other steps than their originals
    assert near_dup.clean_texts(texts) == [shingle_text(t) for t in texts]
    assert near_duplicate_pairs(texts, settings) == whole and len(whole) >= 25


def test_many_identical_copies_collapse_into_one_cluster_without_pairing_them_all() -> None:
    settings = DedupeSettings()
    text = "Under clause 7 the licensee must keep the access record for three years and report any breach"
    records = [{"text": text} for _ in range(300)] + [{"text": text.replace("three", "thr3e")}, {"text": "unrelated"}]
    report = dedupe_records(records, settings, ("near",))
    assert report.kept == [0, 301]
    assert sorted(report.clusters[0].removed) == list(range(1, 301))


def test_cross_pairs_equal_a_brute_force_scan_between_two_collections() -> None:
    settings = DedupeSettings()
    texts = _texts(80, seed=5)
    left, right = texts[:70], texts[70:]
    found = cross_pairs(left, right, settings, 0.8)
    signatures = signature_matrix(texts, settings)
    expected = {(i, j - 70) for i, j in _brute_force(signatures, 0.8) if i < 70 <= j}
    assert {(i, j) for i, j, _ in found} == expected
    assert expected  # some copies of left records sit in right
    assert cross_pairs([], right, settings, 0.8) == []
