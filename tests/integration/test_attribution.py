"""Attribution on the generated business (the session's built warehouse): every conversion and
unit of spend accounted for, the heuristic rules, the SQL and Python models agreeing, and the
planted truth recovered - email lifts purchases, retargeting display ads do not."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest

from journeymap.cli import main
from journeymap.ml.attribution import PathTable, attribute
from tests.integration.marts import CONSENTING, query, scalar

pytestmark = pytest.mark.integration

HEURISTICS = ("first_touch", "last_touch", "linear", "time_decay", "position_based")
DATA_DRIVEN = ("markov_1", "markov_2", "markov_3", "shapley")


def shares(built_warehouse) -> dict[str, dict[str, float]]:
    frame = query(
        built_warehouse.duckdb_path,
        "select attribution_model, channel, share_of_conversions "
        "from enriched.mart_attribution_comparison",
    )
    out: dict[str, dict[str, float]] = {}
    for row in frame.itertuples(index=False):
        out.setdefault(row.attribution_model, {})[row.channel] = row.share_of_conversions
    return out


def test_every_conversion_is_credited_once_in_full_by_every_model(built_warehouse):
    path = built_warehouse.duckdb_path
    conversions = scalar(path, "select count(*) from marts.mart_conversion_paths")
    orders = scalar(
        path, "select count(*) from marts.fct_events where canonical_event = 'order_placed'"
    )
    assert conversions == orders > 500
    totals = query(
        path,
        """
        select credits.conversion_key, attribution_model, sum(credit) as credit,
            sum(attributed_revenue) as revenue, max(paths.revenue) as conversion_revenue
        from marts.fct_attribution_touches as credits
        inner join marts.mart_conversion_paths as paths using (conversion_key)
        group by credits.conversion_key, attribution_model
        """,
    )
    assert len(totals) == conversions * len(HEURISTICS)
    assert (totals["credit"] - 1).abs().max() < 1e-9
    assert (totals["revenue"] - totals["conversion_revenue"]).abs().max() < 1e-6
    # The data-driven models credit every conversion but those of customers who refused
    # analytics (they are not trained on).
    consenting = scalar(
        path, f"select count(*) from marts.mart_conversion_paths where {CONSENTING}"
    )
    ml = query(path, "select model, sum(conversions) as c from ml.channel_attribution group by 1")
    assert set(ml["model"]) == set(DATA_DRIVEN)
    assert 0 < consenting < conversions
    assert ml["c"].to_numpy() == pytest.approx([consenting] * len(DATA_DRIVEN))


def test_position_based_is_40_20_40_and_50_50_on_the_warehouse_paths(built_warehouse):
    credits = query(
        built_warehouse.duckdb_path,
        """
        select path_touches, path_position, min(credit) as low, max(credit) as high
        from marts.fct_attribution_touches
        where attribution_model = 'position_based' and path_touches between 1 and 3
        group by path_touches, path_position
        """,
    ).set_index(["path_touches", "path_position"])
    expected = {(1, 1): 1.0, (2, 1): 0.5, (2, 2): 0.5, (3, 1): 0.4, (3, 2): 0.2, (3, 3): 0.4}
    assert set(credits.index) == set(expected)
    for key, credit in expected.items():
        assert credits.loc[key, "low"] == pytest.approx(credit)
        assert credits.loc[key, "high"] == pytest.approx(credit)


def test_the_lifting_channel_outranks_the_no_lift_channel_and_last_touch_over_credits_it(
    built_warehouse,
):
    truth = built_warehouse.truth()["attribution"]
    lift, no_lift = truth["lifting_channel"], truth["no_lift_channel"]
    by_model = shares(built_warehouse)
    for model in DATA_DRIVEN:
        assert by_model[model][lift] > 1.15 * by_model[model][no_lift], model
    last = by_model["last_touch"][no_lift]
    for model in ("markov_1", "markov_2", "markov_3", "first_touch", "linear"):
        assert last > 1.3 * by_model[model][no_lift], model


def test_python_heuristics_agree_with_the_sql_marts(built_warehouse):
    """The SQL credits (fct_attribution_touches) and journeymap.ml.attribution on the same
    transformed paths give the same channel totals (time decay differs by design: days in SQL,
    touches on a path table)."""
    path = built_warehouse.duckdb_path
    paths = query(path, "select channel_path, revenue from marts.mart_conversion_paths")
    table = PathTable.from_frame(
        paths.assign(conversions=1), "channel_path", "conversions", ">", "revenue"
    )
    python = attribute(table, ("first_touch", "last_touch", "linear", "position_based"))
    sql = query(
        path,
        "select attribution_model as model, channel, attributed_conversions, attributed_revenue "
        "from marts.mart_channel_attribution",
    )
    merged = python.merge(sql, on=["model", "channel"], how="left")
    assert merged["attributed_conversions"].notna().all()
    assert (merged["conversions"] - merged["attributed_conversions"]).abs().max() < 1e-6
    assert (merged["value"] - merged["attributed_revenue"]).abs().max() < 1e-4


def test_every_touch_lands_in_one_journey_and_none_is_lost(built_warehouse):
    path = built_warehouse.duckdb_path
    touches = scalar(path, "select count(*) from intermediate.int_marketing_touches")
    in_journeys = scalar(path, "select count(*) from intermediate.int_attribution_journey_touches")
    converting = query(
        path,
        "select sum(touches_raw) as t, sum(touches_before_lookback) as b "
        "from marts.mart_conversion_paths",
    ).iloc[0]
    not_converting = scalar(path, "select sum(touches_raw) from marts.mart_non_conversion_paths")
    assert touches == in_journeys == converting.t + converting.b + not_converting
    assert scalar(path, "select count(*) from marts.mart_non_conversion_paths") > 1000


def test_spend_reaches_the_marts_unit_for_unit(built_warehouse):
    landed = 0.0
    for spend_file in (built_warehouse.landing_dir / "marketing_spend").glob("*.csv"):
        with spend_file.open() as f:
            landed += sum(float(row["spend"]) for row in csv.DictReader(f))
    path = built_warehouse.duckdb_path
    by_channel = scalar(
        path,
        "select sum(spend) from (select distinct channel, spend "
        "from marts.mart_channel_attribution) as channels",
    )
    by_campaign = scalar(
        path,
        "select sum(spend) from (select distinct channel, campaign, spend "
        "from marts.mart_campaign_attribution) as campaigns",
    )
    assert landed > 1000
    assert by_channel == pytest.approx(landed) and by_campaign == pytest.approx(landed)
    costs = query(
        path,
        "select channel, cost_per_conversion, return_on_spend from marts.mart_channel_attribution "
        "where attribution_model = 'last_touch' and spend is not null",
    )
    assert set(costs["channel"]) == {"paid_search", "paid_social", "display"}
    assert (costs["cost_per_conversion"] > 0).all() and (costs["return_on_spend"] > 0).all()


def test_the_chains_tell_held_out_converting_journeys_apart(built_warehouse):
    report = json.loads((built_warehouse.settings.build_dir / "model_report.json").read_text())
    entry = report["channel_attribution"]
    baselines = entry["baselines"]
    for order in (1, 2, 3):
        held_out = entry["held_out"][f"markov_{order}"]
        assert held_out["auc"] > max(0.55, baselines["auc_path_length"])
        assert held_out["brier"] < baselines["brier_base_rate"]
    assert entry["rows_written"] > 0


def test_the_cli_attributes_the_exported_path_table_as_the_asset_did(built_warehouse, tmp_path):
    path = built_warehouse.duckdb_path
    # The paths the asset read: those of customers who did not refuse analytics.
    table = query(
        path,
        f"""
        select coalesce(path, '') as path, sum(conversions) as conversions,
            sum(nulls) as nulls, sum(revenue) as revenue
        from (
            select channel_path as path, 1 as conversions, 0 as nulls, revenue
            from marts.mart_conversion_paths where {CONSENTING}
            union all
            select channel_path, 0, 1, 0 from marts.mart_non_conversion_paths
            where {CONSENTING}
        ) as journeys
        group by 1
        """,
    )
    source, out = tmp_path / "paths.csv", tmp_path / "attribution.csv"
    table.to_csv(source, index=False)
    argv = [
        "attribute",
        str(source),
        "--conversions-column",
        "conversions",
        "--null-column",
        "nulls",
        "--value-column",
        "revenue",
        "--model",
        "markov",
        "--order",
        "2",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    cli = pd.read_csv(out).set_index("channel")
    asset = query(
        path,
        "select channel, conversions, revenue from ml.channel_attribution where model = 'markov_2'",
    ).set_index("channel")
    assert set(cli["model"]) == {"markov_2"}
    assert cli.loc[asset.index, "conversions"].to_numpy() == pytest.approx(asset["conversions"])
    assert cli.loc[asset.index, "value"].to_numpy() == pytest.approx(asset["revenue"])


def test_the_summary_names_paths_to_a_first_order_and_the_attribution(built_warehouse):
    from journeymap.summary import summarize
    from journeymap.warehouse import DuckDBWarehouse

    with DuckDBWarehouse(built_warehouse.duckdb_path, read_only=True) as warehouse:
        text = summarize(warehouse)
    assert "paths to purchase" not in text
    paths = text.split("Most common customer paths to a first order (customers):")[1]
    assert all(line.strip().endswith("order_placed") for line in paths.splitlines()[1:6])
    attribution = text.split("Channel attribution")[1].splitlines()
    email = next(line for line in attribution if line.strip().startswith("email"))
    assert len(email.split()) == 4  # last touch, Markov, Shapley
    assert "Top channel paths to conversion" in text
