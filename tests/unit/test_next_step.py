"""The next-step and drop-off models on frames: labels, smoothing, the held-out-time protocol
(no leakage from the future), the choice against first-order Markov, and process logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from journeymap.ml import next_step as ns
from journeymap.ml.sequence_models import BackoffModel
from journeymap.ml.step_log import log_from_batches, log_from_frame
from tests.helpers.process_log import as_step_frame, process_log

DAY = 86_400
STAGES = {"awareness": 1, "consideration": 2, "purchase": 3}


def _log(rows, stages=None):
    frame = pd.DataFrame(rows, columns=["journey_key", "occurred_at", "step", "journey_stage"])
    return log_from_frame(frame, stages)


def _t(day: float) -> str:
    return (pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(days=day)).isoformat()


def _epoch(day: float) -> int:
    return int(pd.Timestamp(_t(day)).value // 1_000_000_000)


@pytest.fixture(scope="module")
def process():
    """A 600-case, 30-activity log whose next activity depends on the last two."""
    return log_from_frame(as_step_frame(process_log(cases=600, activities=30, seed=3)))


def test_next_step_labels_use_the_horizon_and_leave_unknown_outcomes_out():
    log = _log(
        [
            ("a", _t(0), "home", None),
            ("a", _t(1), "pricing", None),  # next within 14 days
            ("a", _t(30), "home", None),  # 29 days later: after pricing the journey ended
            ("b", _t(50), "home", None),  # data ends on day 60: unknown (< 14 days seen)
            ("c", _t(10), "home", None),  # nothing after, 50 days seen: the journey ends
        ]
    )
    classes = ns.Classes.from_log(log, 10)
    labels = ns.next_step_labels(log, classes, 14 * DAY, _epoch(60))
    names = [classes.names[i] if i >= 0 else None for i in labels]
    # sorted by journey: a(home, pricing, home), b(home), c(home)
    assert names == ["pricing", "journey_ends", "journey_ends", None, "journey_ends"]


def test_drop_off_is_not_reaching_a_later_stage_within_the_horizon():
    log = _log(
        [
            ("a", _t(0), "home", "awareness"),
            ("a", _t(2), "blog", "awareness"),
            ("a", _t(5), "pricing", "consideration"),  # reached 3 days after blog
            ("a", _t(25), "order", "purchase"),  # 20 days after pricing: dropped off
            ("b", _t(0), "home", "awareness"),
            ("b", _t(3), "home", "awareness"),  # never advances: dropped off
        ],
        STAGES,
    )
    drop = ns.drop_off_labels(log, 14 * DAY, _epoch(100))
    # a: home -> pricing in 5 days (0), blog -> 3 days (0), pricing -> order in 20 (1),
    # order is the final stage (undefined); b: both dropped off
    assert drop[:3].tolist() == [0.0, 0.0, 1.0]
    assert np.isnan(drop[3])
    assert drop[4:].tolist() == [1.0, 1.0]
    censored = ns.drop_off_labels(log, 14 * DAY, _epoch(10))
    assert np.isnan(censored[4]) and np.isnan(censored[5])  # b seen only 10 and 7 days


def test_without_stages_drop_off_is_the_journey_ending():
    log = _log([("a", _t(0), "x", None), ("a", _t(1), "y", None), ("a", _t(40), "x", None)])
    assert not log.has_stages
    assert ns.drop_off_labels(log, 14 * DAY, _epoch(100)).tolist() == [0.0, 1.0, 1.0]


def test_witten_bell_back_off_matches_the_formula():
    # context level 1: previous step; classes 0, 1, 2
    contexts = [np.zeros(6, dtype=np.int64), np.array([0, 0, 0, 1, 1, 1])]
    labels = np.array([0, 0, 1, 2, 2, 2])
    model = BackoffModel(3).fit(contexts, labels)
    proba = model.predict_proba([np.zeros(3, dtype=np.int64), np.array([0, 1, 7])])
    unigram = (np.array([2, 1, 3]) + 3 * np.full(3, 1 / 3)) / (6 + 3)
    after_0 = (np.array([2, 1, 0]) + 2 * unigram) / (3 + 2)
    after_1 = (np.array([0, 0, 3]) + 1 * unigram) / (3 + 1)
    np.testing.assert_allclose(proba, [after_0, after_1, unigram])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_variable_order_markov_beats_first_order_on_a_second_order_process(process):
    as_of = pd.Timestamp(int(process.t.max()) + 3 * DAY, unit="s")
    run = ns.score_next_steps(process, as_of)
    entry = run.report_entry()
    assert set(entry["top1"]) == set(ns.NEXT_STEP_MODELS) == set(entry["top3"])
    top1 = entry["top1"]
    # The planted structure: the last two steps decide; one step or none cannot know.
    assert top1["variable_order_markov"] > top1["first_order_markov"] + 0.05
    assert top1["first_order_markov"] > top1["most_frequent"]
    assert entry["chosen"] in ("variable_order_markov", "gradient_boosting")
    assert entry["comparison"]["ci_low"] > 0
    for name in ns.NEXT_STEP_MODELS:
        assert entry["top3"][name] >= entry["top1"][name]
    # No stages in a process log: drop-off is the journey ending; still evaluated.
    assert set(entry["drop_off"]["brier"]) == set(ns.DROP_OFF_MODELS)
    predictions = run.predictions
    assert len(predictions) > 0 and predictions["current_stage"].isna().all()
    assert predictions["customer_key"].is_unique
    probabilities = predictions[[f"next_step_{k}_probability" for k in (1, 2, 3)]]
    assert (probabilities.diff(axis=1).iloc[:, 1:] <= 1e-12).all().all()  # best first
    assert (probabilities.sum(axis=1) <= 1 + 1e-9).all()


def test_first_order_markov_is_kept_when_no_challenger_clearly_beats_it():
    scores = {
        "first_order_markov": np.array([1.0, 0.0] * 50),
        "variable_order_markov": np.array([1.0, 0.0] * 50),
        "gradient_boosting": np.array([0.0, 1.0] * 50),
    }
    groups = np.repeat(np.arange(20), 5)
    chosen, comparison = ns.choose(scores, groups, True, ns.NextStepConfig())
    assert chosen == "first_order_markov"
    assert comparison["beats_first_order_markov"] is False


def _future_signal_log(log, split_t):
    """The same log with a planted future-only signal: after ``split_t`` every step's device
    names the step that follows it (a perfect predictor, known only after the fact)."""
    following = np.append(log.step[1:], -1)
    same = np.append(log.journey[1:] == log.journey[:-1], False)
    devices = np.concatenate([log.devices, log.steps]).astype(object)
    planted = np.where(same & (log.t >= split_t), len(log.devices) + following, log.device)
    return ns.StepLog(**{**log.__dict__, "device": planted.astype(np.int64), "devices": devices})


def test_a_future_only_signal_is_not_used(process):
    """Plant a signal that exists only after the split time; the held-out accuracy must not
    move, while a protocol that trains on the future (the control) would exploit it."""
    as_of = int(process.t.max()) + 3 * DAY
    config = ns.NextStepConfig(bootstrap_samples=50)
    _, split_t = ns.split_journeys(process.subset(process.t < as_of), config.train_share)
    planted = _future_signal_log(process, split_t)

    clean = ns.evaluate(process, as_of, config)
    with_signal = ns.evaluate(planted, as_of, config)
    assert with_signal.top1["gradient_boosting"] <= clean.top1["gradient_boosting"] + 0.02
    for name in ("most_frequent", "first_order_markov", "variable_order_markov"):
        assert with_signal.top1[name] == clean.top1[name]  # they never read devices

    # Control: the same booster trained on every prefix, future included, finds the signal.
    classes = ns.Classes.from_log(planted, config.max_classes)
    labels = ns.next_step_labels(planted, classes, config.horizon_seconds, as_of)
    rows = np.flatnonzero(labels >= 0)
    leaky = ns.next_step_model("gradient_boosting", classes, config).fit(
        planted, rows, labels[rows]
    )
    held_out = rows[planted.t[rows] >= split_t]
    hits = ns.top_k_hits(leaky.predict_proba(planted, held_out), labels[held_out], 1, classes)
    assert hits.mean() > clean.top1["gradient_boosting"] + 0.3


def test_a_prefix_prediction_never_depends_on_what_follows_it(process):
    """Rewrite every step after day 120 of the log: predictions of the earlier prefixes of
    a model fitted on the same training prefixes are identical."""
    config = ns.NextStepConfig()
    cut = int(np.quantile(process.t, 0.6))
    early = process.t < cut
    rng = np.random.default_rng(0)
    rewritten = ns.StepLog(
        **{
            **process.__dict__,
            "step": np.where(
                early, process.step, rng.integers(0, len(process.steps), len(process))
            ),
        }
    )
    classes = ns.Classes.from_log(process, config.max_classes)
    labels = ns.next_step_labels(process, classes, config.horizon_seconds, cut)
    for label_of in (ns.next_step_labels, ns.drop_off_labels):  # outcomes: before the cut only
        args = (classes,) if label_of is ns.next_step_labels else ()
        np.testing.assert_array_equal(
            label_of(process, *args, config.horizon_seconds, cut),
            label_of(rewritten, *args, config.horizon_seconds, cut),
        )
    train = np.flatnonzero(labels >= 0)
    rows = np.flatnonzero(early)
    for name in ns.NEXT_STEP_MODELS:
        a = ns.next_step_model(name, classes, config).fit(process, train, labels[train])
        b = ns.next_step_model(name, classes, config).fit(rewritten, train, labels[train])
        np.testing.assert_array_equal(
            a.predict_proba(process, rows), b.predict_proba(rewritten, rows), err_msg=name
        )


def test_open_journeys_are_those_whose_last_step_is_within_the_horizon():
    log = _log([("a", _t(0), "x", None), ("a", _t(55), "y", None), ("b", _t(10), "x", None)])
    rows = ns.open_journeys(log, _epoch(60), 14 * DAY)
    assert log.keys[log.journey[rows]].tolist() == ["a"]


def test_too_little_history_is_a_clear_error():
    few = _log([("a", _t(0), "x", None), ("b", _t(1), "y", None), ("c", _t(2), "x", None)])
    with pytest.raises(ValueError, match="not enough journeys"):
        ns.evaluate(few, _epoch(40))
    short = _log([(f"j{i}", _t(i), "x", None) for i in range(10)])
    with pytest.raises(ValueError, match="too little history"):
        ns.evaluate(short, _epoch(40))


def test_evaluation_table_names_every_model_and_the_choice(process):
    as_of = pd.Timestamp(int(process.t.max()) + 3 * DAY, unit="s")
    entry = ns.score_next_steps(process, as_of).report_entry()
    table = ns.evaluation_table(entry)
    for name in (*ns.NEXT_STEP_MODELS, "stage_rate"):
        assert name in table
    assert f"next step: {entry['chosen']} is used" in table


def test_a_log_read_in_batches_equals_the_log_read_at_once():
    """The warehouse streams events in batches in event-key order; the codes and the order
    of steps (ties at one second kept in arrival order) do not depend on the batching."""
    frame = as_step_frame(process_log(cases=50, activities=12, seed=5))
    frame["channel"] = np.where(np.arange(len(frame)) % 3 == 0, "web", " ")  # blank = missing
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True).dt.floor("D")  # ties
    frame = frame.sample(frac=1.0, random_state=1).reset_index(drop=True)
    whole = log_from_frame(frame)
    batches = log_from_batches(frame.iloc[i : i + 97] for i in range(0, len(frame), 97))
    for name in ("keys", "journey", "t", "step", "steps", "channel", "channels", "stage"):
        np.testing.assert_array_equal(getattr(batches, name), getattr(whole, name))
    assert (whole.channel == -1).sum() == (frame["channel"] == " ").sum()


def test_the_evaluation_sample_keeps_whole_journeys(process):
    """Beyond the cap, held-out prefixes are every prefix of a random sample of journeys."""
    rows = np.arange(len(process))
    sample = ns._sample_journeys(process, rows, len(rows) // 4, seed=2)
    picked = np.unique(process.journey[sample])
    assert 0.15 * len(rows) < len(sample) < 0.35 * len(rows)
    np.testing.assert_array_equal(sample, np.flatnonzero(np.isin(process.journey, picked)))
