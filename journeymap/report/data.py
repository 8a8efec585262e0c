"""Data access for the journey map page: warehouse queries -> plain, JSON-able dicts.

Nothing here renders; ``journeymap.report.render`` turns the dict into HTML, so the page can be
tested from hand-made dicts. The queries read the dbt marts only and use plain SQL that runs
on DuckDB and Snowflake alike.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any, Protocol

import pandas as pd

from journeymap.report.attribution import collect_attribution
from journeymap.report.customers import collect_customers
from journeymap.report.next_steps import collect as collect_next_steps
from journeymap.report.voice import collect as collect_voice
from journeymap.warehouse import quote_literal

DEFAULT_FUNNEL = "purchase"
PATH_GRAIN = "customer"
SANKEY_STEPS = 6
TOP_PATHS = 8
UNMAPPED_SHOWN = 5


class QueryableWarehouse(Protocol):
    def query_df(self, sql: str, params: Any = None) -> pd.DataFrame: ...


def _plain(value: Any) -> Any:
    """A pandas/numpy cell as a plain Python value; missing values become None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, Decimal):
        value = float(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalar
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def records(warehouse: QueryableWarehouse, sql: str) -> list[dict[str, Any]]:
    """Rows of a query as dicts with lower-case keys (Snowflake upper-cases names)."""
    frame = warehouse.query_df(sql)
    frame.columns = [str(c).lower() for c in frame.columns]
    frame = frame.astype(object)
    return [
        {column: _plain(value) for column, value in zip(frame.columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def collect_report_data(
    warehouse: QueryableWarehouse,
    schema: str = "marts",
    enriched_schema: str = "enriched",
    funnel: str = DEFAULT_FUNNEL,
    sankey_steps: int = SANKEY_STEPS,
) -> dict[str, Any]:
    """Everything the journey map page shows, read from the marts."""
    m, e = schema, enriched_schema

    stages = records(
        warehouse,
        f"""
        select journey_stage, stage_order, stage_label, description, customers_reached,
            customers_to_next_stage, conversion_to_next_stage, drop_off_rate,
            customers_furthest_here, median_hours_to_next_stage
        from {m}.mart_journey_stages
        order by stage_order
        """,
    )
    for stage in stages:
        for key in (
            "stage_order",
            "customers_reached",
            "customers_to_next_stage",
            "customers_furthest_here",
        ):
            stage[key] = _int(stage[key])

    touchpoints = records(
        warehouse,
        f"""
        select journey_stage, stage_order, channel, touchpoint, customers_reached, events,
            customers_to_next_stage, conversion_to_next_stage, drop_off_rate, median_hours_in_stage
        from {m}.mart_journey_map
        order by stage_order, customers_reached desc, channel, touchpoint
        """,
    )
    for tp in touchpoints:
        for key in ("stage_order", "customers_reached", "events", "customers_to_next_stage"):
            tp[key] = _int(tp[key])

    funnel_rows = records(
        warehouse,
        f"""
        select step_number, step_name, canonical_event, breakdown, breakdown_value, entered,
            completed, conversion_from_previous, drop_off_rate, conversion_from_entry,
            median_hours_from_previous
        from {m}.fct_funnel_steps
        where funnel_name = {quote_literal(funnel)}
        order by breakdown, breakdown_value, step_number
        """,
    )
    for row in funnel_rows:
        for key in ("step_number", "entered", "completed"):
            row[key] = _int(row[key])

    transitions = records(
        warehouse,
        f"""
        select step_index, from_event, to_event, source_node, target_node, is_path_end, paths
        from {m}.mart_path_transitions
        where path_grain = {quote_literal(PATH_GRAIN)} and step_index <= {int(sankey_steps)}
        order by step_index, paths desc, from_event, to_event
        """,
    )
    for row in transitions:
        row["step_index"] = _int(row["step_index"])
        row["paths"] = _int(row["paths"])
        row["is_path_end"] = bool(row["is_path_end"])

    top_paths = records(
        warehouse,
        f"""
        select path, path_steps, occurrences, conversions, conversion_rate, share_of_paths,
            row_number() over (order by conversions desc, path) as frequency_rank
        from {m}.mart_path_summary
        where path_grain = {quote_literal(PATH_GRAIN)} and conversions > 0
        order by conversions desc, path
        limit {TOP_PATHS}
        """,
    )
    for row in top_paths:
        for key in ("path_steps", "occurrences", "conversions", "frequency_rank"):
            row[key] = _int(row[key])

    # The stage each canonical event usually belongs to: colours the Sankey's nodes.
    event_stage_rows = records(
        warehouse,
        f"""
        select canonical_event, journey_stage, count(*) as events
        from {m}.fct_events
        where journey_stage <> 'unmapped'
        group by canonical_event, journey_stage
        """,
    )
    event_stages: dict[str, str] = {}
    best: dict[str, int] = {}
    for row in sorted(event_stage_rows, key=lambda r: (r["canonical_event"], r["journey_stage"])):
        if int(row["events"]) > best.get(row["canonical_event"], -1):
            best[row["canonical_event"]] = int(row["events"])
            event_stages[row["canonical_event"]] = row["journey_stage"]

    customers = records(
        warehouse,
        f"""
        select count(*) as customers,
            sum(case when is_known then 1 else 0 end) as known_customers,
            sum(case when orders > 0 then 1 else 0 end) as ordering_customers,
            sum(case when churn_score is not null then 1 else 0 end) as scored_customers,
            min(first_seen_at) as first_seen_at,
            max(last_seen_at) as last_seen_at
        from {e}.dim_customer_360
        """,
    )[0]

    churn_bands = records(
        warehouse,
        f"""
        select current_stage, churn_risk_band, count(*) as customers
        from {e}.dim_customer_360
        where churn_risk_band is not null
        group by current_stage, churn_risk_band
        order by current_stage, churn_risk_band
        """,
    )
    churn_reasons = records(
        warehouse,
        f"""
        select current_stage, churn_risk_band, churn_reason_1, count(*) as customers
        from {e}.dim_customer_360
        where churn_score is not null and churn_reason_1 is not null
        group by current_stage, churn_risk_band, churn_reason_1
        order by current_stage, churn_risk_band, customers desc, churn_reason_1
        """,
    )
    for row in churn_bands + churn_reasons:
        row["customers"] = _int(row["customers"])

    sources = records(
        warehouse,
        f"""
        select source_name, files, landed_rows, raw_rows, staged_rows, deduplicated_rows,
            quarantined_rows, unaccounted_rows, is_reconciled
        from {m}.mart_data_reconciliation
        order by source_name
        """,
    )
    for row in sources:
        for key in (
            "files",
            "landed_rows",
            "raw_rows",
            "staged_rows",
            "deduplicated_rows",
            "quarantined_rows",
            "unaccounted_rows",
        ):
            row[key] = _int(row[key])
        row["is_reconciled"] = bool(row["is_reconciled"])

    unmapped_totals = records(
        warehouse,
        f"""
        select count(*) as raw_names, coalesce(sum(events), 0) as events
        from {m}.mart_unmapped_events
        """,
    )[0]
    unmapped = records(
        warehouse,
        f"""
        select source, raw_event_name, events, customers
        from {m}.mart_unmapped_events
        order by events desc, source, raw_event_name
        limit {UNMAPPED_SHOWN}
        """,
    )
    for row in unmapped:
        row["events"] = _int(row["events"])
        row["customers"] = _int(row["customers"])

    voice = collect_voice(records, warehouse, enriched_schema)  # what customers say and feel
    return {
        "voice": voice,
        "next_steps": collect_next_steps(records, warehouse, enriched_schema),
        "generated_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "period": {
            "first_seen_at": customers["first_seen_at"],
            "last_seen_at": customers["last_seen_at"],
        },
        "customers": {
            "total": _int(customers["customers"]) or 0,
            "known": _int(customers["known_customers"]) or 0,
            "ordering": _int(customers["ordering_customers"]) or 0,
        },
        "stages": stages,
        "touchpoints": touchpoints,
        "funnel": {"name": funnel, "rows": funnel_rows},
        "paths": {
            "grain": PATH_GRAIN,
            "max_steps": sankey_steps,
            "transitions": transitions,
            "top_paths": top_paths,
            "event_stages": event_stages,
        },
        "churn": {
            "scored_customers": _int(customers["scored_customers"]) or 0,
            "bands": churn_bands,
            "reasons": churn_reasons,
        },
        "customer_groups": collect_customers(records, warehouse, m, e),
        "attribution": collect_attribution(lambda sql: records(warehouse, sql), m, e),
        "health": {
            "sources": sources,
            "unmapped_raw_names": _int(unmapped_totals["raw_names"]) or 0,
            "unmapped_events": _int(unmapped_totals["events"]) or 0,
            "unmapped": unmapped,
        },
    }
