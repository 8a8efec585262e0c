"""Randomness and ids: one stream per person, and ids that are unique by construction.

Only ``Random.random()`` is used for draws (never ``randint``/``choice``), so the sample data
does not change when CPython tweaks its helper methods.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from math import exp, log
from random import Random
from typing import Generic, TypeVar

T = TypeVar("T")
Draw = Callable[[], float]  # a bound ``Random.random``

MASK64 = (1 << 64) - 1
PERSON_KEY_BITS = 36  # person keys below 2**36: customers, then prospects at PROSPECT_KEY_OFFSET
PROSPECT_KEY_OFFSET = 1 << 35
SEQ_BITS = 24  # ids per person and domain


def mix64(x: int) -> int:
    """SplitMix64's finaliser: a bijection on 64-bit integers (distinct in, distinct out)."""
    x &= MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


# Streams: the genuine behaviour, planted defects, and the wording texts add on top (greetings,
# typos, the friction theme's messages), so that neither defects nor wording ever change what
# the simulated people do; the run's marketing spend has its own (person key 0, never a person's).
GENUINE_STREAM, DEFECT_STREAM, TEXT_STREAM, SPEND_STREAM = 0, 1, 2, 3


def person_rng(seed: int, person_key: int, stream: int = GENUINE_STREAM) -> Random:
    """A private stream of one person: depends on (seed, person, stream), never on chunking.

    Defects and text wording draw from their own streams, so the genuine data is the same at
    any defect rate and with any wording.
    """
    return Random(((seed & MASK64) << 64) | (stream << 40) | person_key)


ID_MULTIPLIER = 0x9E3779B97F4A7C15  # odd, so multiplying mod 2**64 is invertible


class IdMaker:
    """Ids such as ``evt_3f9a...``: a bijective scramble of (domain, person, counter).

    Uniqueness holds by construction (no birthday collisions at 10M+ rows) and the hex looks
    random, so an id reveals neither its owner nor its order. The scramble (xor salt, multiply
    by an odd constant, xor-shift) is cheap because it runs once per row.
    """

    __slots__ = ("salt",)

    def __init__(self, seed: int) -> None:
        self.salt = mix64(seed ^ 0x5EED5EED)

    def person_bits(self, person_key: int) -> int:
        """Pre-salted person part of an id: ``scramble(domain_bits ^ person_bits ^ n)``."""
        return (person_key << SEQ_BITS) ^ self.salt

    @staticmethod
    def scramble(x: int) -> int:
        y = (x * ID_MULTIPLIER) & MASK64
        return y ^ (y >> 31)

    def hex16(self, domain: int, person_key: int, n: int) -> str:
        x = (domain << 60) ^ self.person_bits(person_key) ^ n
        return f"{self.scramble(x):016x}"


class Weighted(Generic[T]):
    """A categorical distribution; ``pick`` costs one draw and a bisect."""

    __slots__ = ("values", "_cum")

    def __init__(self, pairs: Mapping[T, float] | Iterable[tuple[T, float]]) -> None:
        items = list(pairs.items()) if isinstance(pairs, Mapping) else list(pairs)
        total = float(sum(w for _, w in items))
        if not items or total <= 0:
            raise ValueError("a weighted choice needs at least one positive weight")
        self.values: tuple[T, ...] = tuple(v for v, _ in items)
        acc, cum = 0.0, []
        for _, w in items:
            acc += w / total
            cum.append(acc)
        cum[-1] = 1.0
        self._cum = cum

    def pick(self, r: Draw) -> T:
        return self.values[bisect_right(self._cum, r())]


def uniform_int(r: Draw, lo: int, hi: int) -> int:
    """An integer in [lo, hi]."""
    return lo + int(r() * (hi - lo + 1))


def pick(r: Draw, seq: tuple[T, ...] | list[T]) -> T:
    return seq[int(r() * len(seq))]


def expo(r: Draw, mean: float) -> float:
    return -mean * log(1.0 - r())


def log_uniform(r: Draw, lo: float, hi: float) -> float:
    return lo * (hi / lo) ** r()


def poisson(r: Draw, lam: float) -> int:
    """Knuth's method: fine for the small means used here."""
    if lam <= 0:
        return 0
    limit, k, p = exp(-lam), 0, r()
    while p > limit:
        k += 1
        p *= r()
    return k
