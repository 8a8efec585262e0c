"""Friction themes on frames: readable labels, word families, ids that stay put from run to
run, and themes that hold when a few texts are removed (on the shipped hand-written corpus,
whose wording is not the generator's)."""

from __future__ import annotations

import re
from pathlib import Path
from random import Random

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from journeymap.ml.text.themes import (
    FUNCTION_WORDS,
    KEEP_SHARE,
    STOP_WORDS,
    ThemeCount,
    build_friction_themes,
    friction_themes,
    kept_theme_count,
    pairs_first,
    readable_terms,
    sticky_assignment,
    theme_ids,
    theme_summary,
    word_families,
    words_and_pairs,
)

ROOT = Path(__file__).resolve().parents[2]


def _frame(bodies: list[str], stage: str = "purchase", prefix: str = "m") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": "support_messages",
            "source_text_id": [f"{prefix}{i:04d}" for i in range(len(bodies))],
            "journey_stage": stage,
            "sentiment": -0.8,
            "body": bodies,
        }
    )


def _label_words(themes: pd.DataFrame) -> set[str]:
    return {w for label in themes["theme_label"] for w in re.split(r" · | ", label)}


# Texts full of contractions, negations, auxiliaries and vague verbs around a few problems.
PROBLEMS = {
    "payment": [
        "I gave up, the payment wouldn't go through and I didn't get why",
        "tried again and the payment failed, I can't check out",
        "payment failed twice, it's not working and I don't know why",
        "we've tried everything, payment failed on every card we've got",
    ],
    "parcel": [
        "my parcel hasn't arrived, the tracking doesn't update",
        "I'm still waiting, the parcel tracking says nothing and it's been ages",
        "the parcel is lost, tracking hasn't moved, wouldn't you check",
    ],
    "login": [
        "I can't log in, the password reset link doesn't work",
        "password reset email never came and I couldn't log in",
        "you've locked me out, password reset isn't working",
    ],
}


def _problem_texts(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = Random(seed)
    names = sorted(PROBLEMS)
    problems = [names[i % len(names)] for i in range(n)]
    return [rng.choice(PROBLEMS[p]) for p in problems], problems


def test_labels_leave_out_function_words_and_prefer_word_pairs():
    bodies, _ = _problem_texts(90, seed=1)
    themes = friction_themes(_frame(bodies))
    words = _label_words(themes)
    assert words and not words & STOP_WORDS
    assert not words & FUNCTION_WORDS
    assert not any("'" in w for w in words)  # no contraction survives
    labels = set(themes["theme_label"])
    # The pairs that carry the weight of their words lead: "payment failed", "password reset".
    assert any("payment failed" in label for label in labels)
    assert any("password reset" in label for label in labels)
    assert any(re.search(r"parcel|tracking", label) for label in labels)


def test_word_pairs_are_adjacent_content_words():
    terms = words_and_pairs("the payment failed at the checkout page, I can't pay")
    assert "payment failed" in terms and "checkout page" in terms
    assert "failed checkout" not in terms  # a stop word between breaks the pair
    assert not any("can't" in t for t in terms) and "pay" in terms


def test_pairs_first_and_one_word_once():
    weights = pd.Series({"payment": 1.0, "payment failed": 0.6, "failed": 0.5, "card": 0.4})
    assert pairs_first(weights) == ["payment failed", "card"]  # "failed" is in the pair
    assert readable_terms(["payment failed", "failed", "card"], 3) == ["payment failed", "card"]
    weights["payment failed"] = 0.3  # a pair with under half its word's weight waits its turn
    assert pairs_first(weights)[0] == "payment"


def test_word_families_strip_suffixes_only_to_words_of_the_texts():
    families = word_families(["payment paying pay failed failing fails fail news charged charge"])
    assert families["payment"] == families["paying"] == "pay"
    assert families["failed"] == families["failing"] == families["fails"] == "fail"
    assert families["charged"] == "charge"
    assert families["news"] == "news"  # "new" is no word of these texts
    alone = word_families(["failed failing"])
    assert alone["failed"] == "failed" and alone["failing"] == "failing"
    assert readable_terms(["payment", "pay", "card"], 2, families) == ["payment", "card"]


# --- ids that stay put ---------------------------------------------------------------------------
def test_the_same_texts_twice_give_the_same_ids():
    bodies, _ = _problem_texts(90, seed=2)
    first = friction_themes(_frame(bodies))
    second = friction_themes(_frame(bodies), previous=first)
    key = ["source", "source_text_id"]
    pd.testing.assert_frame_equal(
        first.drop(columns="built_at").sort_values(key).reset_index(drop=True),
        second.drop(columns="built_at").sort_values(key).reset_index(drop=True),
    )
    assert first["theme_id"].nunique() >= 3


def test_more_texts_keep_the_ids_of_the_themes_they_do_not_change():
    bodies, problems = _problem_texts(90, seed=3)
    first = friction_themes(_frame(bodies))
    # A day later: a few more texts of the same problems.
    more, more_problems = _problem_texts(9, seed=4)
    second_frame = _frame([*bodies, *more])
    second = friction_themes(second_frame, previous=first)
    problem_of = dict(zip(second_frame["source_text_id"], [*problems, *more_problems], strict=True))
    ids = {}
    for name, themes in (("before", first), ("after", second)):
        by_problem = themes.groupby(themes["source_text_id"].map(problem_of))["theme_id"]
        ids[name] = by_problem.agg(set).to_dict()
        assert all(len(theme) == 1 for theme in ids[name].values())  # one theme per problem
    assert ids["after"] == ids["before"]


def test_a_theme_without_predecessor_gets_an_id_never_used_before():
    keys = pd.Index([f"t{i}" for i in range(9)])
    assigned = np.array([0, 0, 0, 1, 1, 1, 2, 2, -1])  # -1: a text that joined no theme
    previous = pd.Series([4, 4, 4, 7, 7], index=["t0", "t1", "t2", "t3", "x9"])
    ids = theme_ids(keys, assigned, previous)
    assert ids[0] == 4 and ids[1] == 7  # overlap 3/3 and 2/4 of the texts
    assert ids[2] == 8  # new: above every id of the previous run
    assert theme_ids(keys, assigned, None) == {0: 1, 1: 2, 2: 3}


# --- themes that hold when a few texts are removed, on text the generator did not write ---
@pytest.fixture(scope="module")
def corpus_frame() -> pd.DataFrame:
    corpus = pd.read_csv(ROOT / "ml" / "text" / "corpus" / "customer_texts.csv")
    return pd.DataFrame(
        {
            "source": "corpus",
            "source_text_id": [f"c{i:04d}" for i in range(len(corpus))],
            "journey_stage": corpus["journey_stage"],
            "sentiment": corpus["sentiment"],
            "body": corpus["text"],
        }
    )


def test_corpus_themes_hold_when_five_percent_of_texts_are_removed(corpus_frame):
    """On the hand-written corpus (112 negative purchase texts, 123 retention): labels are
    words of the texts and no function words; when the full run and a run without 5% of the
    texts both find stable themes, they are essentially the same themes; the leading theme's
    first word leads a theme in every run. (Measured over seeds 0-9: the full run's purchase
    themes are barely stable, least stable theme 0.78 at k = 5; 6 of the 10 removals find
    stable themes too, adjusted Rand 0.73-1.0; the other 4 find none, fall back to three
    themes, adjusted Rand 0.53-0.58, and report the stage as not stable.)"""
    built = build_friction_themes(corpus_frame)
    full = built.themes
    body_words = set(re.findall(r"[a-z']+", " ".join(corpus_frame["body"]).lower()))
    assert _label_words(full) <= body_words
    assert not _label_words(full) & STOP_WORDS
    top = theme_summary(full).query("journey_stage == 'purchase'").iloc[0]
    first_word = top["theme_label"].split(" · ")[0]
    purchase = corpus_frame[corpus_frame["journey_stage"] == "purchase"]  # stages are apart
    compared = 0
    for seed in range(4):
        keep = np.random.default_rng(seed).random(len(purchase)) >= 0.05
        part = build_friction_themes(purchase[keep])
        both = full.merge(part.themes, on=["source", "source_text_id"], suffixes=("", "_part"))
        if built.counts["purchase"].stable and part.counts["purchase"].stable:
            agreement = adjusted_rand_score(both["theme_id"], both["theme_id_part"])
            assert agreement >= 0.7, (seed, agreement)  # 0 is chance, 1 the same themes
            compared += 1
        assert part.themes["theme_label"].str.split(" · ").str[0].eq(first_word).any()
    assert compared >= 1


# --- ids that survive one more day on texts without stable themes ---
def _themeless_texts(n: int, seed: int) -> list[str]:
    """Complaints drawing their problem words at random: no k is stable on them, so a cold
    factorisation re-forms its themes whenever a few texts are added."""
    words = [
        *("refund", "invoice", "delivery", "courier", "login", "password", "screen", "battery"),
        *("charger", "cable", "label", "parcel", "voucher", "discount", "account", "profile"),
        *("address", "postcode", "receipt", "tariff"),
    ]
    rng = Random(seed)
    return [f"The {' and the '.join(rng.sample(words, 3))} failed again." for _ in range(n)]


def test_one_more_day_keeps_the_ids_even_when_no_theme_count_is_stable():
    bodies = _themeless_texts(300, seed=5)
    first = build_friction_themes(_frame(bodies))
    assert not first.counts["purchase"].stable
    more = _frame([*bodies, *_themeless_texts(15, seed=6)])
    key = ["source", "source_text_id"]
    kept = first.themes.merge(friction_themes(more, previous=first.themes), on=key)
    assert (kept["theme_id_x"] == kept["theme_id_y"]).mean() >= 0.95
    cold = first.themes.merge(friction_themes(more), on=key)
    assert (cold["theme_id_x"] == cold["theme_id_y"]).mean() < 0.95  # what warm start fixes


def test_a_text_keeps_its_theme_until_its_weight_clearly_says_otherwise():
    weights = np.array([[0.6, 1.0, 0.0], [0.4, 1.0, 0.0], [0.2, 0.3, 0.1], [0.0, 0.0, 0.0]])
    prior = np.array([0, 0, -1, 2])
    # Kept at 0.6 of the best weight, moved at 0.4 (< KEEP_SHARE), largest when new, none at 0.
    assert sticky_assignment(weights, prior).tolist() == [0, 1, 1, -1]
    assert KEEP_SHARE == 0.5


def test_the_previous_theme_count_is_kept_unless_another_is_stable():
    unstable = ThemeCount(3, {3: [0.9, 0.6, 0.7], 4: [0.7] * 4, 5: [0.5] * 5})
    assert kept_theme_count(unstable, previous_k=4).k == 4
    assert kept_theme_count(unstable, previous_k=0).k == 3  # first run
    assert kept_theme_count(unstable, previous_k=7).k == 3  # not a candidate now
    stable = ThemeCount(5, {3: [0.5] * 3, 4: [0.6] * 4, 5: [0.8] * 5})
    assert kept_theme_count(stable, previous_k=4).k == 5
