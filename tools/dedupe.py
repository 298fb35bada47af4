"""Drop exact duplicates: the same question and answer after normalisation.

Normalisation folds case, width (NFKC), whitespace and punctuation, so "什么是数据？" and "什么是数据?" collide.
Of each duplicate group the best-reviewed sample is kept; the others are reported as rejected duplicates.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

from ftds.tools.records import ItemOutcome, Sample

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).casefold())


def exact_key(question: str, answer: str = "") -> str:
    return hashlib.blake2b(f"{normalise(question)}\x1f{normalise(answer)}".encode(), digest_size=16).hexdigest()


def _score(sample: Sample) -> float:
    return sample.review.total if sample.review else 0.0


def dedupe_exact(samples: Sequence[Sample], by: str = "question") -> tuple[list[Sample], list[ItemOutcome]]:
    """Keep one sample per normalised question (``by='question'``) or question+answer (``by='pair'``)."""
    best: dict[str, Sample] = {}
    order: list[str] = []
    for sample in samples:
        key = exact_key(sample.question, sample.answer if by == "pair" else "")
        if key not in best:
            best[key] = sample
            order.append(key)
        elif _score(sample) > _score(best[key]):
            best[key] = sample
    kept_ids = {best[key].sample_id for key in order}
    dropped = [
        ItemOutcome(
            item_id=s.sample_id,
            kind="sample",
            status="rejected",
            reason="duplicate",
            detail=f"same {by} as another kept sample: {s.question[:120]}",
        )
        for s in samples
        if s.sample_id not in kept_ids
    ]
    return [best[key] for key in order], dropped
