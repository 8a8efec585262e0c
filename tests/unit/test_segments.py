"""Segmentation on frames: the latent class model recovers planted classes, the number of
segments follows the stated criterion, segment ids stay put across runs, and the features
describe customers as the docstring says."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from journeymap.ml.mixture import Categorical, Duration, Rate, Score, fit_mixture, m_step, take
from journeymap.ml.segment_features import SegmentFrames, build_customer_features, prepare_frames
from journeymap.ml.segments import (
    SegmentConfig,
    agreement_with,
    choose_k,
    hash_sample,
    jaccard_stability,
    segment_customers,
    stable_ids,
)

FAST = SegmentConfig(k_min=2, k_max=5, restarts=3, bootstrap_samples=2, bootstrap_restarts=1)


def planted(n: int = 900, seed: int = 0):
    """Three kinds of customer who differ in what they look at, how often they come and how
    they rate us - overlapping, like real ones (every class does every thing sometimes)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, size=n)
    mix = np.array(
        [[0.5, 0.2, 0.1, 0.1, 0.1], [0.1, 0.5, 0.2, 0.1, 0.1], [0.1, 0.1, 0.2, 0.3, 0.3]]
    )
    counts = np.array([rng.multinomial(rng.integers(5, 30), mix[c]) for c in truth], dtype=float)
    weeks = rng.uniform(2, 12, size=n)
    visits = rng.poisson(np.array([0.5, 2.0, 1.0])[truth] * weeks).astype(float)
    stars = rng.normal(np.array([4.5, 3.0, 2.0])[truth], 0.6)
    stars[rng.random(n) < 0.6] = np.nan  # most never review
    waits = rng.exponential(np.array([10.0, 1.0, 3.0])[truth])
    blocks = [
        Categorical("pages", counts, tuple("abcde")),
        Rate("visits", visits, weeks),
        Score("stars", stars),
        Duration("wait", waits + 0.01),
    ]
    customers = pd.Index([f"C{i:04d}" for i in range(n)], name="customer_key")
    return customers, blocks, truth


def test_the_mixture_recovers_planted_classes():
    _, blocks, truth = planted()
    model = fit_mixture(blocks, 3, seed=1, restarts=4)
    assert adjusted_rand_score(truth, model.predict(blocks)) > 0.85
    resp, total = model.responsibilities(blocks)
    assert resp.sum(axis=1) == pytest.approx(np.ones(len(truth)))
    assert total == pytest.approx(model.log_likelihood)


def test_unobserved_values_count_neither_way():
    """A customer who never reviewed is classified by the rest of their data alone."""
    _, blocks, truth = planted()
    model = fit_mixture(blocks, 3, seed=1, restarts=4)
    stars = blocks[2]
    assert stars.observed.sum() < len(truth) and np.isnan(stars.values).any()
    without = [b for b in blocks if b.name != "stars"]
    never = ~np.isfinite(stars.values)
    joint_with = model.class_log_likelihoods(blocks)[never]
    joint_without = model.class_log_likelihoods(without)[never]
    assert joint_with == pytest.approx(joint_without)


def test_k_is_the_lowest_bic_among_stable_solutions():
    _, blocks, _ = planted()
    k, candidates, _ = choose_k(blocks, FAST)
    assert k == 3
    by_k = {c.k: c for c in candidates}
    assert by_k[3].min_stability >= FAST.stability_threshold
    stable = [c for c in candidates if c.min_stability >= FAST.stability_threshold]
    assert min(stable, key=lambda c: c.bic).k == 3


def test_jaccard_stability_of_identical_and_unrelated_labelings():
    labels = np.repeat([0, 1, 2], 50)
    assert jaccard_stability(labels, [labels, labels]) == pytest.approx([1, 1, 1])
    shuffled = np.random.default_rng(0).permutation(labels)
    assert jaccard_stability(labels, [shuffled]).max() < 0.6


def test_stable_ids_follow_the_members_not_the_label_numbers():
    customers = pd.Index([f"C{i}" for i in range(9)])
    previous = pd.Series([7, 7, 7, 3, 3, 3, 5, 5, 5], index=customers)
    labels = np.array([2, 2, 2, 0, 0, 0, 1, 1, 1])  # the same groups, renumbered
    ids, predecessors = stable_ids(customers, labels, previous)
    assert ids.tolist() == previous.tolist()
    assert predecessors == {2: 7, 0: 3, 1: 5}


def test_a_new_segment_gets_an_id_never_used_before():
    customers = pd.Index([f"C{i}" for i in range(8)])
    previous = pd.Series([1, 1, 1, 1, 2, 2, 2, 2], index=customers)
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 2])  # segment 2 split in two
    ids, predecessors = stable_ids(customers, labels, previous, used_ids={1, 2, 9})
    assert ids[:4].tolist() == [1, 1, 1, 1]
    assert sorted({ids[4], ids[6]}) == [2, 10]  # one half keeps 2, the other gets 10 (9 retired)
    assert sorted(v for v in predecessors.values() if v is not None) == [1, 2]


def test_without_a_previous_run_ids_go_by_size():
    customers = pd.Index([f"C{i}" for i in range(6)])
    ids, _ = stable_ids(customers, np.array([1, 0, 0, 0, 1, 2]), None)
    assert ids.tolist() == [2, 1, 1, 1, 2, 3]


def test_a_rerun_keeps_every_id_and_one_more_day_keeps_almost_all():
    customers, blocks, _ = planted()
    first = segment_customers(customers, blocks, config=FAST)
    again = segment_customers(customers, blocks, first.assignments(), config=FAST)
    assert (again.segment_ids == first.segment_ids).all()
    # One more day: 5% of the customers visit once more, 30 new customers arrive.
    more_customers, more_blocks, _ = planted(930, seed=0)
    rng = np.random.default_rng(4)
    visits = more_blocks[1].counts.copy()
    visits[rng.random(930) < 0.05] += 1
    more_blocks[1] = Rate("visits", visits, more_blocks[1].exposure)
    later = segment_customers(more_customers, more_blocks, first.assignments(), config=FAST)
    assert all(p is not None for p in later.predecessors.values())
    kept = later.assignments().reindex(customers) == first.assignments()
    assert kept.mean() > 0.9


def test_the_selection_sample_hardly_moves_when_customers_arrive():
    customers = pd.Index([f"C{i:05d}" for i in range(5000)])
    sample = set(customers[hash_sample(customers, 1000)])
    grown = customers.append(pd.Index([f"N{i:05d}" for i in range(100)]))
    later = set(grown[hash_sample(grown, 1000)])
    assert len(sample & later) >= 950


def test_agreement_with_known_groups():
    assignments = pd.Series([1, 1, 2, 2], index=list("abcd"))
    truth = pd.Series(["x", "x", "y", "y", "z"], index=list("abcde"))
    agreement = agreement_with(truth, assignments)
    assert agreement["ari"] == pytest.approx(1.0) and agreement["customers"] == 4
    assert agreement["crosstab"] == {"x": {"1": 2, "2": 0}, "y": {"1": 0, "2": 2}}


def test_a_subsample_keeps_every_block():
    _, blocks, _ = planted(20)
    rows = np.array([0, 5, 5])
    subsample = take(blocks, rows)
    assert subsample.n == 3 and len(subsample.blocks) == len(blocks)
    assert (subsample.stats[1] == subsample.stats[2]).all()


# ------------------------------------------------------------------------------ features


def _frames() -> SegmentFrames:
    t = pd.Timestamp
    customers = pd.DataFrame(
        {
            "customer_key": ["A", "B", "C"],
            "signed_up_at": [t("2026-01-05 10:00"), t("2025-06-01"), t("2026-01-02")],
        }
    )
    sessions = pd.DataFrame(
        {
            "customer_key": ["A", "A", "A", "B", "B", "X"],
            "session_key": ["s1", "s2", "s3", "s4", "s5", "s6"],
            "anonymous_id": ["d1", "d1", "d2", "d3", "d3", "d9"],
            "started_at": [
                t("2026-01-01 09:00"),
                t("2026-01-06 09:00"),
                t("2026-01-20 09:00"),
                t("2026-01-02 09:00"),
                t("2026-02-10 09:00"),  # after the cutoff
                t("2026-01-03"),
            ],
            "platform": ["web", "web", "app", "web", "web", "web"],
            "device_type": ["desktop", "desktop", "mobile", "mobile", "mobile", "desktop"],
            "acquisition_channel": [
                "organic_search",
                "direct",
                "direct",
                "paid_social",
                "email",
                "direct",
            ],
        }
    )
    events = pd.DataFrame(
        [
            ("A", "2026-01-01 09:00", "home_viewed", "web_events", "s1", False, None),
            ("A", "2026-01-01 09:01", "content_viewed", "web_events", "s1", False, None),
            ("A", "2026-01-01 09:02", "pricing_viewed", "web_events", "s1", False, None),
            ("A", "2026-01-06 09:00", "home_viewed", "web_events", "s2", False, None),
            ("A", "2026-01-06 09:01", "logged_in", "web_events", "s2", False, None),
            ("A", "2026-01-06 09:02", "content_viewed", "web_events", "s2", False, None),
            ("A", "2026-01-06 09:10", "order_placed", "orders", None, True, 80.0),
            ("A", "2026-01-20 09:00", "app_opened", "app_events", "s3", False, None),
            ("A", "2026-01-20 09:01", "feature_used", "app_events", "s3", False, None),
            ("A", "2026-01-08 08:00", "email_delivered", "email_events", None, False, None),
            ("A", "2026-01-08 09:00", "email_opened", "email_events", None, False, None),
            ("B", "2026-01-02 09:00", "landing_viewed", "web_events", "s4", False, None),
            ("B", "2026-01-02 09:01", "pricing_viewed", "web_events", "s4", False, None),
            ("B", "2026-02-10 09:00", "pricing_viewed", "web_events", "s5", False, None),
        ],
        columns=[
            "customer_key",
            "occurred_at",
            "canonical_event",
            "source",
            "session_key",
            "is_conversion",
            "revenue",
        ],
    )
    events["occurred_at"] = pd.to_datetime(events["occurred_at"])
    messages = pd.DataFrame(
        {
            "customer_key": ["B"],
            "occurred_at": [t("2026-01-03")],
            "subject": ["Charged twice"],
            "body": ["You charged my card twice, this is unacceptable. Refund me."],
        }
    )
    reviews = pd.DataFrame(
        {
            "customer_key": ["A"],
            "occurred_at": [t("2026-01-10")],
            "text_type": ["review"],
            "score": [5],
        }
    )
    subscriptions = pd.DataFrame(
        {
            "customer_key": ["A"],
            "subscription_id": ["sub1"],
            "plan": ["pro"],
            "started_at": [t("2026-01-06 09:12")],
        }
    )
    return SegmentFrames(customers, events, sessions, messages, reviews, subscriptions)


def test_features_describe_known_customers_with_a_session_before_the_cutoff():
    features = build_customer_features(_frames(), pd.Timestamp("2026-02-01"))
    assert features.customers.tolist() == ["A", "B"]  # C never visited; X is not known
    blocks = {b.name: b for b in features.blocks}
    a, b = 0, 1
    browse = dict(
        zip(
            blocks["browse_after_signup"].categories,
            blocks["browse_after_signup"].counts[a],
            strict=True,
        )
    )
    # Entry pages and mechanics (how a visit started, a login) are not what they came for.
    assert (
        browse.get("content_viewed") == 1
        and "home_viewed" not in browse
        or browse["home_viewed"] == 0
    )
    assert "logged_in" not in blocks["browse_after_signup"].categories
    before = dict(
        zip(
            blocks["browse_before_signup"].categories,
            blocks["browse_before_signup"].counts[a],
            strict=True,
        )
    )
    assert before["content_viewed"] == 1 and before["pricing_viewed"] == 1
    # B signed up before the data began: nothing before sign-up is observed for them.
    assert blocks["visits_before_signup"].observed.tolist() == [1.0, 0.0]
    assert blocks["visits_before_signup"].counts[a] == 1  # s1 (signed up on 5 January)
    # Devices count once: A has two devices (one desktop, one mobile phone with the app).
    devices = dict(
        zip(blocks["device_type"].categories, blocks["device_type"].counts[a], strict=True)
    )
    assert devices == {"desktop": 1, "mobile": 1}
    # App sessions carry no referrer: only web visits count for the channel.
    channels = dict(
        zip(blocks["visit_channel"].categories, blocks["visit_channel"].counts[a], strict=True)
    )
    assert sum(channels.values()) == 2 and channels["direct"] == 1
    # B's second visit is after the cutoff; their complaint counts.
    assert blocks["visits"].counts[b] == 1
    assert blocks["billing_complaints"].counts[b] == 1
    assert blocks["email_opens"].successes[a] == 1 and blocks["email_opens"].trials[a] == 1
    assert features.profile.loc["A", "orders_per_30_days"] > 0
    assert features.profile.loc["A", "review_score"] == 5
    assert np.isnan(features.profile.loc["B", "review_score"])
    assert features.counts["support_topics"].loc["B"].sum() == 1


def test_features_in_a_given_vocabulary_have_the_same_shape():
    frames = _frames()
    now = build_customer_features(frames, pd.Timestamp("2026-02-01"))
    then = build_customer_features(frames, pd.Timestamp("2026-01-04"), now.vocabulary)
    assert [b.name for b in then.blocks] == [b.name for b in now.blocks]
    for old, new in zip(then.blocks, now.blocks, strict=True):
        if isinstance(new, Categorical):
            assert old.categories == new.categories
    assert then.customers.tolist() == ["A", "B"]


def test_step_pairs_stay_within_a_session():
    events = pd.DataFrame(
        {
            "customer_key": ["A"] * 6,
            "session_key": ["s1", "s1", "s1", "s2", "s2", "s2"],
            "occurred_at": pd.to_datetime(
                [
                    "2026-01-01 09:00",
                    "2026-01-01 09:01",
                    "2026-01-01 09:02",
                    "2026-01-02 00:00",
                    "2026-01-02 00:01",
                    "2026-01-02 00:02",
                ]
            ),
            "canonical_event": ["home_viewed", "a", "b", "landing_viewed", "c", "a"],
            "source": "web_events",
            "is_conversion": False,
            "revenue": None,
        }
    )
    frames = replace(_frames(), events=events)
    pairs = prepare_frames(frames).pairs
    # The entry pages start the visits; the pairs are within a visit only.
    assert sorted(pairs.names["pair"][pairs.arrays["pair"]]) == ["a > b", "c > a"]


def test_step_pairs_are_a_markov_chain_over_the_kept_pairs_first_steps():
    """Per first step of a kept pair: where the customer went next, a kept pair or elsewhere,
    the probabilities summing to one per first step (groups); other first steps left out."""
    times = pd.date_range("2026-01-01 09:00", periods=5, freq="min")
    events = pd.DataFrame(
        {
            "customer_key": "A",
            "session_key": "s1",
            "occurred_at": times,
            "canonical_event": ["home_viewed", "a", "b", "a", "c"],
            "source": "web_events",
            "is_conversion": False,
            "revenue": None,
        }
    )
    frames = replace(_frames(), events=events)
    features = build_customer_features(
        frames, pd.Timestamp("2026-02-01"), {"step_pairs": ("a > b", "b > a")}
    )
    block = next(b for b in features.blocks if b.name == "step_pairs")
    assert block.categories == ("a > b", "b > a", "a > (elsewhere)", "b > (elsewhere)")
    assert block.groups.tolist() == [0, 1, 0, 1]
    a = features.customers.get_loc("A")
    # a > b, b > a, a > c (elsewhere): three transitions from kept first steps.
    assert block.counts[a].tolist() == [1, 1, 1, 0]


def test_text_labels_add_intents_and_sentiments_when_the_text_model_has_run(tmp_path):
    from journeymap.ml.customers_io import read_text_labels
    from journeymap.warehouse import DuckDBWarehouse

    with DuckDBWarehouse(tmp_path / "w.duckdb") as warehouse:
        assert read_text_labels(warehouse) is None  # before the text model's first run
        warehouse.execute("create schema ml")
        warehouse.execute(
            """
            create table ml.text_labels as select * from (values
                ('A', timestamp '2026-01-10', 'billing', 0.8, 'positive', 'joy'),
                ('B', timestamp '2026-01-03', 'cancel', -0.9, 'negative', 'anger'),
                ('B', timestamp '2026-01-04', 'billing', -0.5, 'negative', 'anger'))
                as t(customer_key, occurred_at, intent, sentiment, polarity, emotion)
            """
        )
        labels = read_text_labels(warehouse)
    assert labels["sentiment"].tolist() == ["positive", "negative", "negative"]
    features = build_customer_features(
        replace(_frames(), text_labels=labels), pd.Timestamp("2026-02-01")
    )
    blocks = {b.name: b for b in features.blocks}
    intents = dict(zip(blocks["intents"].categories, blocks["intents"].counts[1], strict=True))
    assert intents == {"billing": 1, "cancel": 1}
    assert features.counts["emotions"].loc["B", "anger"] == 2
    assert features.profile.loc["A", "sentiment_share:positive"] == 1.0


def test_a_class_of_identical_scores_keeps_the_scales_rounding_variance():
    """Ten customers who all gave 5 stars: their class's variance is the rounding variance of
    whole stars (1/12), not a collapse to zero (an unbounded likelihood)."""
    values = np.array([5.0] * 10 + [1.0, 2.0, 3.0, 4.0, 5.0] * 10)
    resp = np.zeros((len(values), 2))
    resp[:10, 0] = 1.0
    resp[10:, 1] = 1.0
    model = m_step([Score("stars", values, resolution=1.0)], resp)
    assert model.params["stars"]["var"][0] == pytest.approx(1 / 12)
    assert model.params["stars"]["var"][1] == pytest.approx(2.0)
