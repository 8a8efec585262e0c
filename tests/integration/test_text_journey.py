"""What customers say and feel, on the fixture business (built once by the full Dagster job):
every text labelled, the figures in the model report, the planted friction theme found in the
top three of its stage, the enriched marts reconciled and the page showing both."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest

from journeymap.ml.model_report import read_model_report
from journeymap.ml.text.labelling import EmbeddedBackend, run_text_labelling
from journeymap.ml.text.labels import EMOTIONS, INTENTS, STAGES
from journeymap.ml.text.themes import (
    friction_themes,
    read_labelled_texts,
    run_friction_themes,
)
from journeymap.warehouse import DuckDBWarehouse
from tests.integration.marts import CONSENTING, query, scalar

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def truth(built_warehouse) -> pd.DataFrame:
    return pd.read_csv(built_warehouse.truth_dir / "texts.csv", dtype=str, keep_default_na=False)


def test_every_customer_text_is_labelled_once(built_warehouse):
    path = built_warehouse.duckdb_path
    labels = query(path, "select * from ml.text_labels")
    # Texts of customers who refused analytics are not labelled (README, consent).
    texts = scalar(path, f"select count(*) from marts.fct_customer_texts where {CONSENTING}")
    assert len(labels) == texts > 1000
    assert not labels.duplicated(["source", "source_text_id"]).any()
    assert set(labels["intent"]) <= set(INTENTS) and len(set(labels["intent"])) >= 10
    assert set(labels["journey_stage"]) <= set(STAGES)
    assert set(labels["emotion"]) <= set(EMOTIONS)
    assert labels["sentiment"].between(-1, 1).all()
    assert (labels["backend"] == "embedded").all() and not labels["is_fallback"].any()
    enriched = scalar(
        path, "select count(*) from enriched.fct_labelled_texts where intent is not null"
    )
    assert enriched == texts


def test_model_report_holds_the_macro_f1_figures(built_warehouse):
    entry = read_model_report(built_warehouse.settings.build_dir)["text_labels"]
    for name in ("intent", "stage", "emotion", "sentiment_polarity"):
        for split in ("heldout", "generator"):
            assert 0 < entry[f"{name}_macro_f1_{split}"] <= 1, (name, split)
    # On the generator's own wording (never seen in training) the model reads most texts.
    assert entry["intent_macro_f1_generator"] >= 0.55
    assert entry["stage_macro_f1_generator"] >= 0.5
    assert entry["sentiment_polarity_macro_f1_generator"] >= 0.6
    assert entry["generator"]["texts"] == entry["rows_written"]
    baselines = entry["baselines_heldout"]
    assert entry["intent_macro_f1_heldout"] > baselines["intent_macro_f1_majority"]
    themes = read_model_report(built_warehouse.settings.build_dir)["text_themes"]
    assert themes["rows_written"] > 100 and "purchase" in themes["top_theme_per_stage"]
    purchase = themes["theme_count_per_stage"]["purchase"]
    assert purchase["stable"] and purchase["min_theme_stability"] >= 0.75
    assert purchase["themes"] == themes["themes_per_stage"]["purchase"]


def _planted_in_stage(themed: pd.DataFrame, truth: pd.DataFrame, planted: dict) -> pd.DataFrame:
    """The themed texts of the planted theme's stage, with whether each is a planted text."""
    planted_keys = truth.loc[truth["theme"] == planted["theme"], ["source", "text_id"]]
    keys = set(planted_keys.itertuples(index=False, name=None))
    stage = themed[themed["journey_stage"] == planted["journey_stage"]].copy()
    pairs = zip(stage["source"], stage["source_text_id"], strict=True)
    stage["is_planted"] = [pair in keys for pair in pairs]
    return stage


def _planted_theme(stage: pd.DataFrame) -> tuple[str, float, int, int]:
    """The theme holding the most planted texts: its id, purity, rank and planted texts."""
    held = stage.groupby("theme_id")["is_planted"].agg(["mean", "sum"])
    best = held["sum"].idxmax()
    rank = int(stage.loc[stage["theme_id"] == best, "theme_rank"].iloc[0])
    return best, float(held.loc[best, "mean"]), rank, int(held.loc[best, "sum"])


def test_planted_friction_theme_is_in_the_top_three_of_its_stage(built_warehouse, truth):
    """The planted payment failures surface as a theme of their own (mostly planted texts)
    among the top three of the purchase stage, holding most of the planted texts."""
    planted = built_warehouse.truth()["friction_theme"]
    themed = query(built_warehouse.duckdb_path, "select * from ml.text_themes")
    stage = _planted_in_stage(themed, truth, planted)
    best, purity, rank, held = _planted_theme(stage)
    # On the fixture: 91 of 113 planted texts in one theme of purity 0.78, ranked first;
    # 111 of 113 in the stage's top three (65 of 113 with the previous model).
    assert purity >= 0.6 and rank <= 3
    assert held >= 0.7 * planted["texts"]
    assert stage.loc[stage["theme_rank"] <= 3, "is_planted"].sum() >= 0.9 * planted["texts"]
    themes = query(
        built_warehouse.duckdb_path,
        f"select * from enriched.mart_friction_themes where theme_id = '{best}'",
    ).iloc[0]
    assert re.search(r"pay|phone|checkout|mobile|card|app", themes["theme_label"])
    for example in (themes["example_text_1"], themes["example_text_2"]):
        assert example and "@" not in example


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_planted_theme_holds_when_a_few_percent_of_texts_are_removed(built_warehouse, truth, seed):
    """Removing 5-10% of the texts at random (as a consent filter would) leaves the planted
    theme a theme of its own in the top three of its stage, holding most planted texts."""
    planted = built_warehouse.truth()["friction_theme"]
    with DuckDBWarehouse(built_warehouse.duckdb_path, read_only=True) as warehouse:
        frame = read_labelled_texts(warehouse)
    rng = np.random.default_rng(seed)
    kept = frame[rng.random(len(frame)) >= (0.05, 0.10)[seed % 2]]
    stage = _planted_in_stage(friction_themes(kept), truth, planted)
    left = int(stage["is_planted"].sum())
    _, purity, rank, held = _planted_theme(stage)
    assert purity >= 0.6 and rank <= 3, (purity, rank)
    assert held >= 0.7 * left, (held, left)


def test_friction_theme_figures_are_consistent(built_warehouse):
    themes = query(built_warehouse.duckdb_path, "select * from enriched.mart_friction_themes")
    assert len(themes) >= 5 and themes["theme_id"].is_unique
    assert (themes["customers"] <= themes["texts"]).all()
    for rate in ("churn_rate_raised", "churn_rate_others", "next_stage_rate_raised"):
        values = themes[rate].dropna()
        assert values.between(0, 1).all(), rate
    assert set(themes["trend"]) <= {"rising", "falling", "steady"}
    assert themes.loc[themes["journey_stage"] == "advocacy", "next_stage_rate_raised"].isna().all()
    weeks = query(
        built_warehouse.duckdb_path,
        "select theme_id, sum(texts) as texts from enriched.mart_friction_theme_weeks group by 1",
    ).set_index("theme_id")["texts"]
    assert weeks.reindex(themes["theme_id"]).tolist() == themes["texts"].tolist()


def test_emotional_journey_reconciles_with_the_labels(built_warehouse):
    path = built_warehouse.duckdb_path
    journey = query(path, "select * from enriched.mart_emotional_journey")
    assert journey["texts"].sum() == scalar(path, "select count(*) from ml.text_labels")
    negatives = scalar(path, "select count(*) from ml.text_labels where polarity = 'negative'")
    assert journey["negative_texts"].sum() == negatives
    shares = journey[[f"{e}_share" for e in EMOTIONS]].sum(axis=1)
    assert shares.round(9).eq(1).all()
    by_stage = journey.groupby("journey_stage").apply(
        lambda g: (g["mean_sentiment"] * g["texts"]).sum() / g["texts"].sum()
    )
    assert by_stage["purchase"] < by_stage["advocacy"]  # complaints hurt, reviews glow


def test_texts_advance_a_customers_stage_and_never_move_it_back(built_warehouse):
    customers = query(
        built_warehouse.duckdb_path,
        "select current_stage_order, stage_with_texts_order, is_stage_advanced_by_text, "
        "furthest_text_stage, stage_with_texts, texts_written from enriched.dim_customer_360",
    )
    assert (customers["stage_with_texts_order"] >= customers["current_stage_order"]).all()
    advanced = customers[customers["is_stage_advanced_by_text"]]
    assert (advanced["stage_with_texts_order"] > advanced["current_stage_order"]).all()
    assert (advanced["furthest_text_stage"] == advanced["stage_with_texts"]).all()
    assert (advanced["texts_written"] > 0).all()


def test_labelling_again_labels_only_what_changed(built_warehouse, tmp_path):
    path = tmp_path / "journeymap.duckdb"
    shutil.copy2(built_warehouse.duckdb_path, path)
    with DuckDBWarehouse(path) as warehouse:
        again = run_text_labelling(warehouse, EmbeddedBackend())
        assert again.labelled_now == 0 and again.reused == again.texts
        warehouse.execute("delete from ml.text_labels where source = 'reviews'")
        reviews = scalar_of(
            warehouse,
            "select count(*) from marts.fct_customer_texts "
            f"where source = 'reviews' and {CONSENTING}",
        )
        third = run_text_labelling(warehouse, EmbeddedBackend())
    assert third.labelled_now == reviews > 0


@pytest.mark.parametrize("opted_out_percent", [0, 6])
def test_a_run_with_one_more_day_of_texts_keeps_the_theme_ids(
    built_warehouse, tmp_path, opted_out_percent
):
    """Yesterday's run (without the last day's texts), a re-run of it, then today's run: the
    re-run gives every text the same theme id, and today's run keeps the ids of the themes
    (read from the ml.text_themes it replaces) in every stage, so weekly trends follow one
    theme. With 6% of the customers' texts left out (as analytics consent opt-outs are) the
    retention stage has no stable theme count: its ids must hold all the same."""
    path = tmp_path / "journeymap.duckdb"
    shutil.copy2(built_warehouse.duckdb_path, path)
    key = ["source", "source_text_id"]
    with DuckDBWarehouse(path) as warehouse:
        warehouse.execute("drop table ml.text_themes")
        warehouse.execute(
            "delete from ml.text_labels where md5_number(customer_key) % 100 < ?",
            [opted_out_percent],
        )
        warehouse.execute(
            "create table ml.last_day as select * from ml.text_labels "
            "where occurred_at > (select max(occurred_at) from ml.text_labels) - interval 1 day"
        )
        warehouse.execute(
            "delete from ml.text_labels where (source, source_text_id) in "
            "(select (source, source_text_id) from ml.last_day)"
        )
        yesterday = run_friction_themes(warehouse).themes
        again = run_friction_themes(warehouse).themes
        warehouse.execute("insert into ml.text_labels select * from ml.last_day")
        today = run_friction_themes(warehouse).themes
    assert len(today) > len(yesterday) > 500
    rerun = yesterday.merge(again, on=key, suffixes=("", "_again"))
    assert len(rerun) == len(yesterday) and (rerun["theme_id"] == rerun["theme_id_again"]).all()
    kept = yesterday.merge(today, on=key, suffixes=("", "_today"))
    same = (kept["theme_id"] == kept["theme_id_today"]).groupby(kept["journey_stage"]).mean()
    assert len(same) == 3 and (same >= 0.95).all(), same.to_dict()
    assert set(yesterday["theme_id"]) == set(today["theme_id"])


def scalar_of(warehouse, sql):
    return int(warehouse.query_df(sql).iloc[0, 0])


def test_the_page_shows_the_emotional_curve_and_the_friction_themes(built_warehouse):
    page = (built_warehouse.settings.build_dir / "journey_map.html").read_text()
    start = page.index('id="voice"')
    section = page[start : page.index("</section>", start)]
    assert section.count("<circle") == 5  # one point per stage
    purchase = section[section.index('class="voice-stage" data-stage="purchase"') :]
    purchase = purchase[: purchase.index("</article>")]
    assert purchase.count('class="theme') >= 1 and "<blockquote>" in purchase
