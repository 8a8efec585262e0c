"""Channel attribution on a path table: heuristic models, the Markov chain removal effect and
Shapley values. Pure functions (frames and arrays in, frames out) that work on any path table,
not only journeymap's: the Dagster asset, the ``journeymap attribute`` command and Python
users call the same ``attribute``.

The input
---------
A *path table* (``PathTable``) holds aggregated rows: a path (the ordered channels of a journey,
e.g. ``paid_search > email > direct``), how many journeys with that path converted
(``conversions``), how many did not (``nulls``) and their conversion value (``values``), the
exchange format of R's ChannelAttribution and its Python port. Rows with zero conversions and
some nulls are kept: the data-driven models learn from them. Equal paths are added up; a path
with no channel stands for conversions without a touch and is the channel ``(none)``.

Heuristic models (per path of n touches at positions 1..n, a channel's credit summed over its
touches; credits of one path sum to 1, and conversions and value are split by them):

* ``first_touch``: 1 to the first touch. ``last_touch``: 1 to the last.
* ``linear``: 1/n to every touch (a channel twice on a path gets 2/n).
* ``time_decay``: weight ``0.5 ** (k / half_life)`` for the touch k steps before the end
  (k = n - position), normalised to 1. A path table has no times, so the half-life counts
  touches (default 1); the warehouse's fct_attribution_touches uses days.
* ``position_based``: one touch 1; two touches 0.5 each; three or more: ``end_share`` (0.4)
  to the first and to the last, the rest (0.2) split evenly over the middle touches.

Markov chain removal effect (Anderl, Becker, von Wangenheim and Schumann, "Mapping the customer
journey: Lessons learned from graph-based online attribution modeling", IJRM 2016; the model of
ChannelAttribution's ``markov_model``), solved exactly on the absorbing chain:

* States: ``(start)``, one state per channel (order 1) or per run of ``order`` consecutive
  channels (order k: a path ``c1 > ... > cn`` visits the windows ``(c1..ck), (c2..ck+1)...``;
  a path shorter than k is one state), and the absorbing ``(conversion)`` and ``(null)``.
  Consecutive repeats of a state are one visit (they do not change absorption probabilities).
* Transition probabilities: transitions counted over all journeys (a path row weighs
  conversions + nulls on every step; its last state goes to ``(conversion)`` with weight
  conversions and to ``(null)`` with weight nulls), normalised per state.
* ``P(conversion)``: the probability of absorption in ``(conversion)`` from ``(start)``, from
  ``(I - Q) x = r`` (Q: transitions among transient states; r: into ``(conversion)``).
* Removal effect of channel c: ``RE(c) = 1 - P(conversion with c removed) / P(conversion)``,
  where removing c sends every transition into a state containing c to ``(null)``. Equal to
  the share of conversions whose path visits c, which ChannelAttribution estimates by
  simulation.
* Attributed conversions: ``total conversions * RE(c) / sum of RE``. Value: the same with the
  value removal effect, ``1 - E[value | c removed] / E[value]``, where a conversion's expected
  value is the mean value per conversion of the journeys that end in the same last state (as
  ChannelAttribution draws it).

Shapley values over channel sets (the variant of DP6's Marketing Attribution Models,
``attribution_shapley`` with conversion rates; the game of Dalessandro et al., "Causally
motivated attribution for online advertising", 2012). A journey's coalition is the *set* of
channels on its path (order and repeats ignored). A set's worth ``v(S)`` is the conversion rate
of the journeys with exactly that set, ``conversions / (conversions + nulls)`` (0 for sets that
never converted). For every set T that converted, the Shapley values of T's channels in that
game, ``phi(c) = sum over S within T not holding c of |S|! (|T|-|S|-1)! / |T|! * (v(S + c) -
v(S))``, add up to ``v(T)``; T's conversions and value are split in proportion to them, and a
channel's attribution is its sum over the sets. A channel whose presence lowers the conversion
rate can get a negative share. Needs non-conversions: without any, every set converts at rate 1.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import permutations
from math import factorial

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.linalg import spsolve

NO_TOUCH = "(none)"
START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
HEURISTIC_MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based")
SHAPLEY = "shapley"
MAX_MARKOV_ORDER = 3
# The names `journeymap attribute --model` takes, and the models they run.
MODEL_CHOICES = {
    "first": "first_touch",
    "last": "last_touch",
    "linear": "linear",
    "time_decay": "time_decay",
    "position": "position_based",
    "markov": "markov",
    "shapley": SHAPLEY,
}
RESULT_COLUMNS = ("model", "channel", "conversions", "value")


class PathTableError(ValueError):
    """A path table that cannot be attributed (missing columns, negative or non-numeric
    counts); the message names the column and the first offending rows."""


def markov_model_name(order: int) -> str:
    return f"markov_{order}"


# ---------------------------------------------------------------------------- path tables


def parse_path(text: object, separator: str = ">") -> tuple[str, ...]:
    """``"a > b>c"`` -> ``("a", "b", "c")``; blanks are dropped, an empty path is ``(none)``."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return (NO_TOUCH,)
    channels = tuple(part.strip() for part in str(text).split(separator) if part.strip())
    return channels or (NO_TOUCH,)


@dataclass(frozen=True)
class PathTable:
    """Distinct paths with their conversions, non-conversions (nulls) and conversion value."""

    paths: tuple[tuple[str, ...], ...]
    conversions: np.ndarray
    nulls: np.ndarray
    values: np.ndarray

    @classmethod
    def from_rows(
        cls,
        paths: Iterable[Sequence[str]],
        conversions: Iterable[float],
        nulls: Iterable[float] | None = None,
        values: Iterable[float] | None = None,
    ) -> PathTable:
        """Aggregate rows (equal paths added up); rows with neither conversions nor nulls
        carry no journey and are left out."""
        keys = [tuple(path) or (NO_TOUCH,) for path in paths]
        conv = np.asarray(list(conversions), dtype=float)
        null = np.zeros(len(keys)) if nulls is None else np.asarray(list(nulls), dtype=float)
        value = np.zeros(len(keys)) if values is None else np.asarray(list(values), dtype=float)
        if not len(keys) == len(conv) == len(null) == len(value):
            raise PathTableError("paths, conversions, nulls and values differ in length")
        totals: dict[tuple[str, ...], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        for key, c, n, v in zip(keys, conv, null, value, strict=True):
            total = totals[key]
            total[0] += c
            total[1] += n
            total[2] += v
        kept = sorted(k for k, (c, n, _) in totals.items() if c + n > 0)
        return cls(
            paths=tuple(kept),
            conversions=np.array([totals[k][0] for k in kept]),
            nulls=np.array([totals[k][1] for k in kept]),
            values=np.array([totals[k][2] for k in kept]),
        )

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        path_column: str = "path",
        conversions_column: str = "conversions",
        separator: str = ">",
        value_column: str | None = None,
        null_column: str | None = None,
    ) -> PathTable:
        """A path table from a frame of path strings and counts (checked: the columns exist,
        counts are numbers >= 0)."""
        columns = [path_column, conversions_column, value_column, null_column]
        missing = [c for c in columns if c is not None and c not in frame.columns]
        if missing:
            raise PathTableError(
                f"no column {', '.join(map(repr, missing))}; the table has "
                f"{', '.join(map(str, frame.columns))}"
            )

        def counts(column: str | None) -> np.ndarray | None:
            return None if column is None else _non_negative(frame[column], column)

        return cls.from_rows(
            (parse_path(text, separator) for text in frame[path_column]),
            counts(conversions_column),
            counts(null_column),
            counts(value_column),
        )

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(sorted({channel for path in self.paths for channel in path}))

    @property
    def total_conversions(self) -> float:
        return float(self.conversions.sum())

    @property
    def total_nulls(self) -> float:
        return float(self.nulls.sum())

    @property
    def total_value(self) -> float:
        return float(self.values.sum())


def _non_negative(values: pd.Series, column: str) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna()
    negative = numbers < 0
    for mask, what in ((bad, "is not a number"), (negative, "is negative")):
        if mask.any():
            rows = ", ".join(str(i + 2) for i in np.flatnonzero(mask.to_numpy())[:5])
            raise PathTableError(f"column {column!r} {what} in row(s) {rows} (header is row 1)")
    return numbers.fillna(0).to_numpy(dtype=float)


def _result(model: str, channels: Sequence[str], conversions, values) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": model,
            "channel": list(channels),
            "conversions": np.asarray(conversions, dtype=float),
            "value": np.asarray(values, dtype=float),
        }
    )


# ------------------------------------------------------------------------------ heuristics


def touch_credits(n: int, model: str, half_life: float = 1.0, end_share: float = 0.4) -> np.ndarray:
    """The credits of the touches at positions 1..n of one path (they sum to 1)."""
    if n < 1:
        raise ValueError("a path has at least one touch")
    if model == "first_touch":
        credits = np.zeros(n)
        credits[0] = 1.0
    elif model == "last_touch":
        credits = np.zeros(n)
        credits[-1] = 1.0
    elif model == "linear":
        credits = np.full(n, 1.0 / n)
    elif model == "time_decay":
        if half_life <= 0:
            raise ValueError("half_life must be positive")
        weights = 0.5 ** (np.arange(n - 1, -1, -1) / half_life)
        credits = weights / weights.sum()
    elif model == "position_based":
        if not 0 <= end_share <= 0.5:
            raise ValueError("end_share must be in [0, 0.5]")
        if n <= 2:
            credits = np.full(n, 1.0 / n)
        else:
            credits = np.full(n, (1.0 - 2 * end_share) / (n - 2))
            credits[0] = credits[-1] = end_share
    else:
        raise ValueError(f"unknown heuristic model {model!r}; one of {', '.join(HEURISTIC_MODELS)}")
    return credits


def heuristic_attribution(
    table: PathTable, model: str, half_life: float = 1.0, end_share: float = 0.4
) -> pd.DataFrame:
    """Conversions and value per channel under one heuristic model (module docstring)."""
    channels = table.channels
    index = {channel: i for i, channel in enumerate(channels)}
    share = np.zeros((len(table.paths), len(channels)))
    for row, path in enumerate(table.paths):
        for channel, credit in zip(
            path, touch_credits(len(path), model, half_life, end_share), strict=True
        ):
            share[row, index[channel]] += credit
    return _result(model, channels, table.conversions @ share, table.values @ share)


# ---------------------------------------------------------------------------------- Markov


@dataclass(frozen=True)
class MarkovChain:
    """The transition counts of a path table's absorbing chain of one order."""

    order: int
    states: tuple[tuple[str, ...], ...]  # transient: (start) first, then the channel states
    counts: sparse.csr_matrix  # transient -> transient
    to_conversion: np.ndarray  # transient -> (conversion)
    to_null: np.ndarray  # transient -> (null)
    conversion_value: np.ndarray  # value of the conversions whose last state this is

    @property
    def outflow(self) -> np.ndarray:
        return np.asarray(self.counts.sum(axis=1)).ravel() + self.to_conversion + self.to_null

    def probabilities(self) -> tuple[sparse.csr_matrix, np.ndarray]:
        """(Q, r): transition probabilities among transient states and into (conversion)."""
        outflow = self.outflow
        scale = np.divide(1.0, outflow, out=np.zeros_like(outflow), where=outflow > 0)
        q = sparse.diags(scale) @ self.counts
        return q.tocsr(), self.to_conversion * scale

    def mean_conversion_value(self) -> np.ndarray:
        """Mean value per conversion of the journeys ending in each state (0 without any)."""
        return np.divide(
            self.conversion_value,
            self.to_conversion,
            out=np.zeros_like(self.conversion_value),
            where=self.to_conversion > 0,
        )

    def state_label(self, i: int) -> str:
        return START if i == 0 else " > ".join(self.states[i])

    def transition_frame(self) -> pd.DataFrame:
        """Every transition with its count and probability (absorbing states included)."""
        outflow = self.outflow
        rows = []
        coo = self.counts.tocoo()
        for i, j, count in zip(coo.row, coo.col, coo.data, strict=True):
            rows.append((self.state_label(i), self.state_label(j), count, count / outflow[i]))
        for target, column in ((CONVERSION, self.to_conversion), (NULL, self.to_null)):
            for i in np.flatnonzero(column):
                rows.append((self.state_label(i), target, column[i], column[i] / outflow[i]))
        frame = pd.DataFrame(rows, columns=["from_state", "to_state", "transitions", "probability"])
        return frame.sort_values(["from_state", "to_state"], ignore_index=True)


def path_states(path: Sequence[str], order: int) -> list[tuple[str, ...]]:
    """The chain states a path visits: windows of ``order`` channels, repeats collapsed."""
    if len(path) <= order:
        windows = [tuple(path)]
    else:
        windows = [tuple(path[i : i + order]) for i in range(len(path) - order + 1)]
    states = [windows[0]]
    for window in windows[1:]:
        if window != states[-1]:
            states.append(window)
    return states


def markov_chain(table: PathTable, order: int = 1) -> MarkovChain:
    """Count the transitions of ``table``'s journeys on the chain of ``order``."""
    if not 1 <= order <= MAX_MARKOV_ORDER:
        raise ValueError(f"Markov order must be between 1 and {MAX_MARKOV_ORDER}, not {order}")
    index: dict[tuple[str, ...], int] = {(): 0}  # () is (start)
    edges: dict[tuple[int, int], float] = defaultdict(float)
    ends: list[tuple[int, float, float, float]] = []
    for path, conv, null, value in zip(
        table.paths, table.conversions, table.nulls, table.values, strict=True
    ):
        journeys = conv + null
        previous = 0
        for state in path_states(path, order):
            current = index.setdefault(state, len(index))
            edges[previous, current] += journeys
            previous = current
        ends.append((previous, conv, null, value))
    size = len(index)
    to_conversion, to_null, conversion_value = np.zeros(size), np.zeros(size), np.zeros(size)
    for state, conv, null, value in ends:
        to_conversion[state] += conv
        to_null[state] += null
        conversion_value[state] += value if conv > 0 else 0.0
    rows = [source for source, _ in edges]
    cols = [target for _, target in edges]
    counts = sparse.csr_matrix((list(edges.values()), (rows, cols)), shape=(size, size))
    states = tuple(sorted(index, key=index.__getitem__))
    return MarkovChain(order, states, counts, to_conversion, to_null, conversion_value)


def expected_visits(q: sparse.csr_matrix, keep: np.ndarray | None = None) -> np.ndarray:
    """Expected visits of each transient state from (start): ``y = e_start (I - Q)^-1``,
    over the kept states only (the others are sent to (null)) when ``keep`` is given."""
    size = q.shape[0]
    keep = np.ones(size, dtype=bool) if keep is None else keep
    kept = np.flatnonzero(keep)
    sub = q[kept][:, kept]
    system = (sparse.identity(len(kept), format="csc") - sub.T.tocsc()).tocsc()
    start = np.zeros(len(kept))
    start[np.flatnonzero(kept == 0)] = 1.0
    visits = np.zeros(size)
    visits[kept] = np.atleast_1d(spsolve(system, start))
    return visits


@dataclass(frozen=True)
class MarkovResult:
    order: int
    conversion_probability: float
    removal_effects: pd.DataFrame  # channel, removal_effect, value_removal_effect
    attribution: pd.DataFrame  # model, channel, conversions, value
    transitions: pd.DataFrame  # from_state, to_state, transitions, probability


def markov_attribution(table: PathTable, order: int = 1) -> MarkovResult:
    """Removal effects and attribution of ``table`` on the absorbing chain of ``order``."""
    chain = markov_chain(table, order)
    q, r = chain.probabilities()
    value_rate = r * chain.mean_conversion_value()
    visits = expected_visits(q)
    p_total, value_total = float(visits @ r), float(visits @ value_rate)
    channels = table.channels
    effects, value_effects = [], []
    for channel in channels:
        keep = np.array([channel not in state for state in chain.states])
        removed = expected_visits(q, keep)
        effects.append(_removal_effect(float(removed @ r), p_total))
        value_effects.append(_removal_effect(float(removed @ value_rate), value_total))
    effects_arr, value_arr = np.array(effects), np.array(value_effects)
    model = markov_model_name(order)
    attribution = _result(
        model,
        channels,
        _split(table.total_conversions, effects_arr),
        _split(table.total_value, value_arr),
    )
    removal = pd.DataFrame(
        {"channel": channels, "removal_effect": effects_arr, "value_removal_effect": value_arr}
    )
    return MarkovResult(order, p_total, removal, attribution, chain.transition_frame())


def _removal_effect(removed: float, total: float) -> float:
    return 1.0 - removed / total if total > 0 else 0.0


def _split(total: float, weights: np.ndarray) -> np.ndarray:
    """``total`` shared in proportion to ``weights`` (nothing when they are all 0)."""
    weight_sum = weights.sum()
    return total * weights / weight_sum if weight_sum > 0 else np.zeros_like(weights)


# --------------------------------------------------------------------------------- Shapley


def channel_sets(table: PathTable) -> pd.DataFrame:
    """Journeys per exact channel set: conversions, nulls, value and conversion rate (the worth
    of the Shapley game)."""
    totals: dict[frozenset[str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for path, conv, null, value in zip(
        table.paths, table.conversions, table.nulls, table.values, strict=True
    ):
        total = totals[frozenset(path)]
        total[0] += conv
        total[1] += null
        total[2] += value
    rows = [(s, c, n, v) for s, (c, n, v) in totals.items()]
    frame = pd.DataFrame(rows, columns=["channels", "conversions", "nulls", "value"])
    frame["conversion_rate"] = frame["conversions"] / (frame["conversions"] + frame["nulls"])
    return frame


def shapley_values(players: Sequence[str], worth: dict[frozenset[str], float]) -> np.ndarray:
    """Exact Shapley values of ``players`` in the game ``v(S) = worth.get(S, 0)``.

    ``phi(i) = sum over S of v(S) * w(S, i)``, with ``w = (|S|-1)! (n-|S|)! / n!`` when i is in
    S and ``-|S|! (n-|S|-1)! / n!`` when not: the textbook weighted marginal contributions,
    summed over the coalitions with a worth only (the others are worth 0)."""
    n = len(players)
    index = {player: i for i, player in enumerate(players)}
    members = frozenset(players)
    phi = np.zeros(n)
    for coalition, value in worth.items():
        if not value or not coalition <= members:
            continue
        size = len(coalition)
        inside = factorial(size - 1) * factorial(n - size) / factorial(n)
        outside = factorial(size) * factorial(n - size - 1) / factorial(n) if size < n else 0.0
        weights = np.full(n, -outside)
        weights[[index[player] for player in coalition]] = inside
        phi += value * weights
    return phi


def shapley_by_permutations(
    players: Sequence[str], worth: dict[frozenset[str], float]
) -> np.ndarray:
    """The same values from the definition (average marginal contribution over all orders of
    the players): factorial in the players, for checking ``shapley_values``."""
    phi = np.zeros(len(players))
    orders = list(permutations(range(len(players))))
    for order in orders:
        coalition: frozenset[str] = frozenset()
        for i in order:
            grown = coalition | {players[i]}
            phi[i] += worth.get(grown, 0.0) - worth.get(coalition, 0.0)
            coalition = grown
    return phi / len(orders)


def shapley_attribution(table: PathTable) -> pd.DataFrame:
    """Conversions and value per channel by Shapley values over channel sets (module
    docstring)."""
    if table.total_nulls <= 0:
        raise PathTableError(
            "Shapley attribution needs journeys that did not convert (a null column): "
            "without them every channel combination converts at rate 1"
        )
    sets = channel_sets(table)
    converting = sets[sets["conversions"] > 0]
    rates = dict(zip(converting["channels"], converting["conversion_rate"], strict=True))
    channels = table.channels
    index = {channel: i for i, channel in enumerate(channels)}
    conversions, values = np.zeros(len(channels)), np.zeros(len(channels))
    for members, conv, value in zip(
        converting["channels"], converting["conversions"], converting["value"], strict=True
    ):
        players = sorted(members)
        phi = shapley_values(players, rates)
        share = phi / phi.sum()  # the values sum to the set's own conversion rate (> 0)
        positions = [index[player] for player in players]
        conversions[positions] += conv * share
        values[positions] += value * share
    return _result(SHAPLEY, channels, conversions, values)


# ------------------------------------------------------------------------------ together


def attribute(
    table: PathTable,
    models: Sequence[str] = (*HEURISTIC_MODELS, "markov", SHAPLEY),
    order: int = 1,
    half_life: float = 1.0,
    end_share: float = 0.4,
) -> pd.DataFrame:
    """Conversions and value per channel under each of ``models`` (heuristic names,
    ``markov`` at ``order``, ``shapley``), one frame: model, channel, conversions, value."""
    frames = []
    for model in models:
        if model in HEURISTIC_MODELS:
            frames.append(heuristic_attribution(table, model, half_life, end_share))
        elif model == "markov":
            frames.append(markov_attribution(table, order).attribution)
        elif model == SHAPLEY:
            frames.append(shapley_attribution(table))
        else:
            known = ", ".join((*HEURISTIC_MODELS, "markov", SHAPLEY))
            raise ValueError(f"unknown attribution model {model!r}; one of {known}")
    if not frames:
        return pd.DataFrame(columns=list(RESULT_COLUMNS))
    return pd.concat(frames, ignore_index=True)
