"""The statistics of the SLO gate, in plain Python.

Quantiles, exact binomial tails, Mann-Whitney U, and a fixed-size reservoir of latencies.

docs/slo.md explains why these tests: the 5xx rate is usually zero, where a normal
approximation says nothing, so it takes an exact binomial tail; latency is skewed and
heavy-tailed, so it takes a rank test (Mann-Whitney U, as Kayenta does) with an effect size.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass


def quantile(ordered: Sequence[float], q: float) -> float | None:
    """The q-quantile of sorted values, linearly interpolated (numpy's default); None if empty."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def binomial_sf(successes: int, trials: int, p: float) -> float:
    """P(X >= successes) for X ~ Binomial(trials, p), exact (summed in log space)."""
    if successes <= 0:
        return 1.0
    if successes > trials or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)

    def log_pmf(k: int) -> float:
        return (
            math.lgamma(trials + 1)
            - math.lgamma(k + 1)
            - math.lgamma(trials - k + 1)
            + k * log_p
            + (trials - k) * log_q
        )

    if successes <= trials * p:  # the upper tail is large: 1 - the (short) lower tail
        lower = sum(math.exp(log_pmf(k)) for k in range(successes))
        return max(0.0, 1.0 - lower)
    total = 0.0
    for k in range(successes, trials + 1):
        term = math.exp(log_pmf(k))
        total += term
        if term < total * 1e-17:
            break
    return min(1.0, total)


@dataclass(frozen=True)
class RankTest:
    """Mann-Whitney U of `after` against `before`: whether `after` is stochastically larger.

    `effect` is the probability that a random `after` value exceeds a random `before` one
    (ties count half): 0.5 is no difference, 1.0 is every request slower (Vargha-Delaney A).
    """

    u: float
    z: float
    p_value: float
    effect: float


def mann_whitney(before: Sequence[float], after: Sequence[float]) -> RankTest:
    """One-sided Mann-Whitney U, normal approximation with tie and continuity correction."""
    n1, n2 = len(before), len(after)
    if not n1 or not n2:
        raise ValueError("both samples must hold at least one value")
    pooled = sorted([(v, 0) for v in before] + [(v, 1) for v in after])
    rank_sum_after, ties, i = 0.0, 0.0, 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        rank = (i + j) / 2 + 1  # the average rank of the tied run i..j (1-based)
        rank_sum_after += rank * sum(1 for k in range(i, j + 1) if pooled[k][1])
        size = j - i + 1
        ties += size**3 - size
        i = j + 1
    n = n1 + n2
    u = rank_sum_after - n2 * (n2 + 1) / 2
    mean = n1 * n2 / 2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))) if n > 1 else 0.0
    if variance <= 0:
        return RankTest(u, 0.0, 1.0, u / (n1 * n2))
    z = (u - mean - 0.5) / math.sqrt(variance)
    return RankTest(u, z, 0.5 * math.erfc(z / math.sqrt(2)), u / (n1 * n2))


class Reservoir:
    """A uniform sample of at most `size` values from a stream (Li's Algorithm L).

    Constant memory whatever the stream's length; seeded, so a run is reproducible.
    """

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = size
        self.values: list[float] = []
        self.seen = 0
        self._random = random.Random(seed)
        self._w = 1.0
        self._next = 0

    def add(self, value: float) -> None:
        """Offer the next value of the stream."""
        self.seen += 1
        if len(self.values) < self.size:
            self.values.append(value)
            if len(self.values) == self.size:
                self._advance()
        elif self.seen == self._next:
            self.values[self._random.randrange(self.size)] = value
            self._advance()

    def _advance(self) -> None:
        rnd = self._random.random
        self._w *= math.exp(math.log(rnd() or 1e-300) / self.size)
        skip = math.floor(math.log(rnd() or 1e-300) / math.log1p(-self._w)) if self._w < 1 else 0
        self._next = self.seen + skip + 1
