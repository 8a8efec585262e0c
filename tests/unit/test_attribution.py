"""Channel attribution on path tables (journeymap.ml.attribution): the heuristic rules on
hand-made paths, the exact Markov solver against brute force and against R's
ChannelAttribution, Shapley values against their definition, and the path table's input rules."""

from __future__ import annotations

import io
from itertools import product

import numpy as np
import pandas as pd
import pytest

from journeymap.attribute import attribute_file, format_table, models_for
from journeymap.ml.attribution import (
    HEURISTIC_MODELS,
    NO_TOUCH,
    PathTable,
    PathTableError,
    attribute,
    channel_sets,
    heuristic_attribution,
    markov_attribution,
    markov_chain,
    parse_path,
    path_states,
    shapley_attribution,
    shapley_by_permutations,
    shapley_values,
    touch_credits,
)


def table(rows: list[tuple[str, float, float, float]]) -> PathTable:
    """Rows of (path, conversions, nulls, value)."""
    return PathTable.from_rows(
        (parse_path(path) for path, *_ in rows),
        (r[1] for r in rows),
        (r[2] for r in rows),
        (r[3] for r in rows),
    )


def shares(frame: pd.DataFrame) -> dict[str, float]:
    return dict(zip(frame["channel"], frame["conversions"], strict=True))


# --- heuristics -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, [1.0]),
        (2, [0.5, 0.5]),
        (3, [0.4, 0.2, 0.4]),
        (4, [0.4, 0.1, 0.1, 0.4]),
        (5, [0.4, 0.2 / 3, 0.2 / 3, 0.2 / 3, 0.4]),
    ],
)
def test_position_based_is_40_20_40_and_50_50_with_two_touches(n, expected):
    assert touch_credits(n, "position_based") == pytest.approx(expected)


def test_time_decay_halves_the_weight_every_half_life():
    credits = touch_credits(3, "time_decay", half_life=1.0)
    assert credits == pytest.approx(np.array([1, 2, 4]) / 7)
    assert touch_credits(3, "time_decay", half_life=2.0)[1] / touch_credits(3, "time_decay", 2.0)[
        0
    ] == pytest.approx(2**0.5)


@pytest.mark.parametrize("model", HEURISTIC_MODELS)
@pytest.mark.parametrize("n", range(1, 9))
def test_every_heuristic_shares_a_path_in_full(model, n):
    credits = touch_credits(n, model)
    assert credits.sum() == pytest.approx(1.0) and (credits >= 0).all()


def test_heuristics_on_hand_made_paths():
    paths = table(
        [
            ("a > b > c", 2, 0, 100),
            ("b > a", 1, 3, 10),
            ("c", 1, 0, 5),
            ("a > a > b", 1, 0, 20),  # a channel twice: linear counts it twice
        ]
    )
    first = shares(heuristic_attribution(paths, "first_touch"))
    last = shares(heuristic_attribution(paths, "last_touch"))
    linear = heuristic_attribution(paths, "linear")
    position = shares(heuristic_attribution(paths, "position_based"))
    assert first == {"a": 3.0, "b": 1.0, "c": 1.0}
    assert last == {"a": 1.0, "b": 1.0, "c": 3.0}
    assert shares(linear) == pytest.approx(
        {"a": 2 / 3 + 0.5 + 2 / 3, "b": 2 / 3 + 0.5 + 1 / 3, "c": 2 / 3 + 1}
    )
    assert position == pytest.approx({"a": 0.8 + 0.5 + 0.6, "b": 0.4 + 0.5 + 0.4, "c": 0.8 + 1})
    linear_value = dict(zip(linear["channel"], linear["value"], strict=True))
    assert linear_value["c"] == pytest.approx(100 / 3 + 5)
    for model in HEURISTIC_MODELS:
        result = heuristic_attribution(paths, model)
        assert result["conversions"].sum() == pytest.approx(paths.total_conversions)
        assert result["value"].sum() == pytest.approx(paths.total_value)


# --- Markov ----------------------------------------------------------------------------


def test_markov_reproduces_the_textbook_three_channel_example():
    """Three journeys (C1 > C2 > C3 converts; C1 and C2 > C3 do not): P(conversion) = 1/3;
    without C1 it is 1/6 (removal effect 0.5), without C2 or C3 it is 0 (removal effect 1);
    conversions are split 0.2 / 0.4 / 0.4."""
    result = markov_attribution(
        table([("C1 > C2 > C3", 1, 0, 10), ("C1", 0, 1, 0), ("C2 > C3", 0, 1, 0)])
    )
    assert result.conversion_probability == pytest.approx(1 / 3)
    effects = dict(
        zip(
            result.removal_effects["channel"], result.removal_effects["removal_effect"], strict=True
        )
    )
    assert effects == pytest.approx({"C1": 0.5, "C2": 1.0, "C3": 1.0})
    assert shares(result.attribution) == pytest.approx({"C1": 0.2, "C2": 0.4, "C3": 0.4})


LOOPY = [
    ("a > b > a > c", 3, 5, 30),
    ("a > c", 4, 6, 44),
    ("b > c > b", 2, 8, 18),
    ("c > a > b > a", 1, 9, 7),
    ("b", 0, 7, 0),
    ("c > b > a > c > a", 2, 3, 26),
]


def _transition_probabilities(result) -> tuple[list[str], np.ndarray]:
    """The solver's own transition matrix, rebuilt from its output frame (absorbing last)."""
    frame = result.transitions
    transient = sorted(set(frame["from_state"]))
    states = [*transient, "(conversion)", "(null)"]
    index = {s: i for i, s in enumerate(states)}
    p = np.zeros((len(states), len(states)))
    for row in frame.itertuples(index=False):
        p[index[row.from_state], index[row.to_state]] = row.probability
    p[index["(conversion)"], index["(conversion)"]] = p[index["(null)"], index["(null)"]] = 1.0
    return states, p


def _brute_force_conversion(states, p, removed: str | None = None, steps: int = 4000) -> float:
    """P(absorbed in conversion from start) by pushing the start distribution through the
    chain step after step (no linear algebra), with a removed channel's states sending their
    mass to (null)."""
    p = p.copy()
    null = states.index("(null)")
    for i, state in enumerate(states):
        if removed is not None and removed in state.split(" > "):
            p[i] = 0.0
            p[i, null] = 1.0
    mass = np.zeros(len(states))
    mass[states.index("(start)")] = 1.0
    for _ in range(steps):
        mass = mass @ p
    return float(mass[states.index("(conversion)")])


@pytest.mark.parametrize("order", [1, 2, 3])
def test_exact_markov_solution_agrees_with_brute_force_on_a_chain_with_loops(order):
    result = markov_attribution(table(LOOPY), order)
    states, p = _transition_probabilities(result)
    total = _brute_force_conversion(states, p)
    assert result.conversion_probability == pytest.approx(total, abs=1e-10)
    for row in result.removal_effects.itertuples(index=False):
        removed = _brute_force_conversion(states, p, row.channel)
        assert row.removal_effect == pytest.approx(1 - removed / total, abs=1e-10)


def test_the_removal_effect_is_the_share_of_conversions_whose_path_visits_the_channel():
    """Push the first-order chain's probability mass step by step, remembering which channels
    each bit of mass has visited: the mass converting after visiting c, over P(conversion),
    equals c's removal effect."""
    result = markov_attribution(table(LOOPY), 1)
    states, p = _transition_probabilities(result)
    conversion, null = states.index("(conversion)"), states.index("(null)")
    mass = {(states.index("(start)"), frozenset()): 1.0}
    converted: dict[frozenset, float] = {}
    for _ in range(4000):
        pushed: dict[tuple[int, frozenset], float] = {}
        for (state, seen), weight in mass.items():
            for nxt in np.flatnonzero(p[state]):
                step = weight * p[state, nxt]
                if nxt == conversion:
                    converted[seen] = converted.get(seen, 0.0) + step
                elif nxt != null:
                    key = (nxt, seen | {states[nxt]})
                    pushed[key] = pushed.get(key, 0.0) + step
        mass = pushed
    total = sum(converted.values())
    for row in result.removal_effects.itertuples(index=False):
        visiting = sum(w for seen, w in converted.items() if row.channel in seen)
        assert row.removal_effect == pytest.approx(visiting / total, abs=1e-9)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_the_chain_keeps_the_observed_conversion_rate(order):
    paths = table(LOOPY)
    result = markov_attribution(paths, order)
    observed = paths.total_conversions / (paths.total_conversions + paths.total_nulls)
    assert result.conversion_probability == pytest.approx(observed)
    assert result.attribution["conversions"].sum() == pytest.approx(paths.total_conversions)
    assert result.attribution["value"].sum() == pytest.approx(paths.total_value)


def test_higher_orders_expand_the_states():
    assert path_states(("a", "a", "b", "c"), 1) == [("a",), ("b",), ("c",)]
    assert path_states(("a", "a", "b", "c"), 2) == [("a", "a"), ("a", "b"), ("b", "c")]
    assert path_states(("a", "b"), 3) == [("a", "b")]
    assert path_states(("a", "a", "a", "a"), 2) == [("a", "a")]
    chain = markov_chain(table([("a > b > c", 1, 0, 0), ("c > b > a", 0, 1, 0)]), 2)
    assert set(chain.states) == {(), ("a", "b"), ("b", "c"), ("c", "b"), ("b", "a")}


def test_order_two_tells_apart_what_order_one_merges():
    """b converts after a and never after c: order 1 shares b's conversions with c (its
    transitions are pooled), order 2 does not."""
    paths = table([("a > b", 10, 0, 0), ("c > b", 0, 10, 0)])
    first, second = (shares(markov_attribution(paths, k).attribution) for k in (1, 2))
    assert first["c"] > 0 and second["c"] == pytest.approx(0.0)
    assert second == pytest.approx({"a": 5.0, "b": 5.0, "c": 0.0})


# Results of R's ChannelAttribution, Python port 2.2.5 (markov_model, seed 7, 5e6 simulated
# paths; heuristic_models), on REFERENCE_TABLE below. ChannelAttribution simulates, so its
# figures carry a simulation error of about 1%.
REFERENCE_TABLE = """path,conversions,nulls,value
search,30,170,2400
social,12,188,840
email,25,75,2250
direct,40,110,3600
search > direct,35,65,2975
social > search,22,78,1870
social > search > direct,18,42,1620
email > direct,30,30,2850
search > email > direct,20,20,1800
social > email,9,41,720
display > direct,28,12,2520
search > display > direct,24,16,2160
email > display,15,10,1350
social > display > email > direct,11,14,1045
direct > search > direct,16,34,1440
email > search > email,10,20,950
social,0,60,0
"""
CHANNEL_ATTRIBUTION_REFERENCE = {
    "first_touch": {"search": 109, "social": 72, "email": 80, "direct": 56, "display": 28},
    "last_touch": {"search": 52, "social": 12, "email": 44, "direct": 222, "display": 15},
    "linear": {
        "search": 87.833333,
        "social": 36.25,
        "email": 68.083333,
        "direct": 120.583333,
        "display": 32.25,
    },
    "markov_1": {
        "search": 89.103755,
        "social": 44.589282,
        "email": 58.421670,
        "direct": 124.648445,
        "display": 28.236847,
    },
    "markov_2": {
        "search": 90.330497,
        "social": 38.529188,
        "email": 61.496121,
        "direct": 114.032569,
        "display": 40.611625,
    },
    "markov_3": {
        "search": 90.471975,
        "social": 37.174319,
        "email": 62.123887,
        "direct": 114.958672,
        "display": 40.271146,
    },
}
REFERENCE_REMOVAL_EFFECTS = {
    1: {"search": 0.4708, "social": 0.2356, "email": 0.3087, "direct": 0.6586, "display": 0.1492},
    2: {"search": 0.5101, "social": 0.2176, "email": 0.3473, "direct": 0.6440, "display": 0.2293},
}


def reference_table() -> PathTable:
    frame = pd.read_csv(io.StringIO(REFERENCE_TABLE))
    return PathTable.from_frame(frame, "path", "conversions", ">", "value", "nulls")


def test_heuristics_reproduce_channelattribution_exactly():
    result = attribute(reference_table(), models=("first_touch", "last_touch", "linear"))
    for model in ("first_touch", "last_touch", "linear"):
        ours = shares(result[result["model"] == model])
        assert ours == pytest.approx(CHANNEL_ATTRIBUTION_REFERENCE[model], abs=1e-5)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_markov_agrees_with_channelattribution_within_its_simulation_error(order):
    result = markov_attribution(reference_table(), order)
    reference = CHANNEL_ATTRIBUTION_REFERENCE[f"markov_{order}"]
    for channel, conversions in shares(result.attribution).items():
        assert conversions == pytest.approx(reference[channel], rel=0.03), channel
    if order in REFERENCE_REMOVAL_EFFECTS:
        effects = result.removal_effects.set_index("channel")["removal_effect"]
        for channel, effect in REFERENCE_REMOVAL_EFFECTS[order].items():
            assert effects[channel] == pytest.approx(effect, abs=0.006), channel


# --- Shapley ---------------------------------------------------------------------------


def test_shapley_values_equal_the_definition_over_all_orders():
    rng = np.random.default_rng(3)
    players = ["a", "b", "c", "d"]
    worth = {}
    for mask in product([0, 1], repeat=4):
        coalition = frozenset(p for p, on in zip(players, mask, strict=True) if on)
        if coalition and rng.random() < 0.7:
            worth[coalition] = float(rng.random())
    assert shapley_values(players, worth) == pytest.approx(shapley_by_permutations(players, worth))
    # Efficiency: the values add up to the grand coalition's worth.
    assert shapley_values(players, worth).sum() == pytest.approx(worth.get(frozenset(players), 0))


def test_shapley_splits_each_channel_set_by_marginal_conversion_rates():
    """{a}: rate 0.5, {b}: 0.1, {a, b}: 0.6. In {a, b}, a adds 0.5 whether first or second
    and b 0.1, so a takes 5/6 of its 12 conversions: a = 10 + 10, b = 2 + 2."""
    paths = table([("a", 10, 10, 100), ("b", 2, 18, 20), ("a > b", 12, 8, 120), ("b > a", 0, 0, 0)])
    result = shapley_attribution(paths)
    assert shares(result) == pytest.approx({"a": 20.0, "b": 4.0})
    values = dict(zip(result["channel"], result["value"], strict=True))
    assert values == pytest.approx({"a": 200.0, "b": 40.0})
    sets = channel_sets(paths).set_index(
        channel_sets(paths)["channels"].map(lambda s: ",".join(sorted(s)))
    )
    assert sets.loc["a,b", "conversion_rate"] == pytest.approx(0.6)


def test_shapley_needs_non_conversions():
    with pytest.raises(PathTableError, match="null column"):
        shapley_attribution(table([("a > b", 3, 0, 0)]))


# --- path tables -----------------------------------------------------------------------


def test_path_tables_add_up_equal_paths_and_keep_paths_without_conversions():
    frame = pd.DataFrame(
        {
            "path": ["a>b", " a > b ", "c", "", "d", None],
            "conv": [1, 2, 0, 4, 0, 1],
            "nulls": [0, 1, 5, 0, 0, 0],
        }
    )
    paths = PathTable.from_frame(frame, "path", "conv", ">", null_column="nulls")
    rows = {
        path: (c, n) for path, c, n in zip(paths.paths, paths.conversions, paths.nulls, strict=True)
    }
    assert rows == {("a", "b"): (3, 1), ("c",): (0, 5), (NO_TOUCH,): (5, 0)}  # d: no journey
    assert paths.channels == (NO_TOUCH, "a", "b", "c")


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"path": ["a"], "conv": ["x"]}), "not a number in row\\(s\\) 2"),
        (pd.DataFrame({"path": ["a", "b"], "conv": [1, -2]}), "negative in row\\(s\\) 3"),
        (pd.DataFrame({"paths": ["a"], "conv": [1]}), "no column 'path'"),
    ],
)
def test_bad_path_tables_get_a_clear_error(frame, message):
    with pytest.raises(PathTableError, match=message):
        PathTable.from_frame(frame, "path", "conv")


def test_attribute_file_runs_every_model_and_writes_the_exchange_columns(tmp_path):
    source = tmp_path / "paths.csv"
    source.write_text(REFERENCE_TABLE)
    result, notes = attribute_file(
        source, conversions_column="conversions", value_column="value", null_column="nulls"
    )
    assert notes == []
    assert list(result.columns) == ["model", "channel", "conversions", "value"]
    assert set(result["model"]) == {*HEURISTIC_MODELS, "markov_1", "shapley"}
    totals = result.groupby("model")["conversions"].sum()
    assert totals.to_numpy() == pytest.approx(np.full(len(totals), 345.0))
    assert "total" in format_table(result)
    only_markov, _ = attribute_file(source, model="markov", order=2, null_column="nulls")
    assert set(only_markov["model"]) == {"markov_2"} and only_markov["value"].isna().all()


def test_all_models_without_nulls_leave_shapley_out_and_say_so():
    models, notes = models_for("all", has_nulls=False)
    assert "shapley" not in models and "null-column" in notes[0]
    assert models_for("position", has_nulls=True) == (["position_based"], [])
