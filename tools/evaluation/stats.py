"""Paired significance for comparing two models on the same items.

- exact-match items (choice, true/false, short answer): McNemar's exact test. Only discordant pairs carry
  information: ``b`` items only model A got right, ``c`` items only model B got right; under "no
  difference" each discordant item is a fair coin, so the two-sided p-value is the binomial tail
  ``min(1, 2 * P[X <= min(b, c)])`` with ``X ~ Binomial(b + c, 1/2)``.
- judged scores (open items, and the overall mean): a paired bootstrap of the mean difference (items
  resampled with replacement, the same draw for both models), percentile interval.

No scipy: the exact binomial is a few lines, and numpy is already here.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb

import numpy as np
from pydantic import BaseModel, Field


class McNemar(BaseModel):
    items: int = Field(description="Items both models were scored on.")
    a_only: int = Field(description="b: right for A, wrong for B.")
    b_only: int = Field(description="c: wrong for A, right for B.")
    both: int
    neither: int
    p_value: float


def mcnemar_exact(a_correct: Sequence[bool], b_correct: Sequence[bool]) -> McNemar:
    """McNemar's exact test on paired right/wrong outcomes of models A and B."""
    if len(a_correct) != len(b_correct):
        raise ValueError("McNemar needs the same items for both models")
    pairs = list(zip(a_correct, b_correct, strict=True))
    b = sum(1 for x, y in pairs if x and not y)
    c = sum(1 for x, y in pairs if y and not x)
    n = b + c
    p = 1.0 if n == 0 else min(1.0, 2 * sum(comb(n, k) for k in range(min(b, c) + 1)) / 2**n)
    return McNemar(
        items=len(pairs),
        a_only=b,
        b_only=c,
        both=sum(1 for x, y in pairs if x and y),
        neither=sum(1 for x, y in pairs if not x and not y),
        p_value=p,
    )


class BootstrapDiff(BaseModel):
    items: int
    mean_a: float
    mean_b: float
    difference: float = Field(description="mean B - mean A")
    low: float
    high: float
    confidence: float
    resamples: int


def paired_bootstrap(
    a_scores: Sequence[float],
    b_scores: Sequence[float],
    *,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapDiff:
    """Percentile interval of mean(B) - mean(A) over items resampled in pairs."""
    if len(a_scores) != len(b_scores):
        raise ValueError("a paired bootstrap needs the same items for both models")
    a = np.asarray(a_scores, dtype=float)
    b = np.asarray(b_scores, dtype=float)
    n = len(a)
    if n == 0:
        return BootstrapDiff(
            items=0, mean_a=0, mean_b=0, difference=0, low=0, high=0, confidence=confidence, resamples=0
        )
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(resamples, n))
    diffs = (b[draws] - a[draws]).mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(diffs, [tail, 1 - tail])
    return BootstrapDiff(
        items=n,
        mean_a=float(a.mean()),
        mean_b=float(b.mean()),
        difference=float((b - a).mean()),
        low=float(low),
        high=float(high),
        confidence=confidence,
        resamples=resamples,
    )
