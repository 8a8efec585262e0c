"""A short text summary of a built warehouse: what a user reads after `make demo`."""

from __future__ import annotations

import pandas as pd

from journeymap.warehouse import Warehouse, quote_literal, table_exists

DEVICES = ("desktop", "mobile", "tablet")

MART_TABLES = (
    "fct_events",
    "fct_sessions",
    "fct_journey_paths",
    "fct_funnel_steps",
    "fct_stage_transitions",
    "dim_customers",
    "mart_journey_map",
    "mart_path_transitions",
    "mart_conversion_paths",
    "mart_non_conversion_paths",
    "fct_attribution_touches",
    "mart_unmapped_events",
)


def _rows(warehouse: Warehouse, sql: str) -> list[tuple]:
    """Result rows with missing values as None (not pandas' NaN)."""
    frame = warehouse.query_df(sql).astype(object)
    return [tuple(None if pd.isna(v) else v for v in row) for row in frame.itertuples(index=False)]


def _share(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.1%}"


TEXT_MARTS = ("mart_emotional_journey", "mart_friction_themes")


def _attribution_lines(warehouse: Warehouse) -> list[str]:
    """Channel shares of conversions by last touch and the data-driven models, and the top
    channel paths to conversion; in words when no conversion has been attributed."""
    rows = _rows(
        warehouse,
        """
        select channel,
            max(case when attribution_model = 'last_touch' then share_of_conversions end),
            max(case when attribution_model = 'markov_1' then share_of_conversions end),
            max(case when attribution_model = 'shapley' then share_of_conversions end)
        from enriched.mart_attribution_comparison
        group by channel
        order by 2 desc nulls last, channel
        """,
    )
    if not rows:
        return ["", "Channel attribution: no conversions to attribute yet."]
    lines = ["", "Channel attribution (share of conversions: last touch / Markov / Shapley):"]
    for channel, last, markov, shapley in rows:
        cells = "  ".join(_share(v) for v in (last, markov, shapley))
        lines.append(f"  {channel:<16} {cells}")
    lines.append("")
    lines.append("Top channel paths to conversion (conversions):")
    lines.extend(
        _counted_paths(
            warehouse,
            "select coalesce(channel_path, '(none)'), count(*) from marts.mart_conversion_paths "
            "group by 1 order by 2 desc, 1 limit 5",
        )
    )
    return lines


def _counted_paths(warehouse: Warehouse, sql: str) -> list[str]:
    """``  count  path`` lines of a query returning (path, count)."""
    return [f"  {int(count):>7,}  {path}" for path, count in _rows(warehouse, sql)]


def _voice_lines(warehouse: Warehouse) -> list[str]:
    """Mean sentiment and the top friction theme per stage the texts show (empty before the
    text model has run, or when the enriched marts are not built)."""
    if not all(table_exists(warehouse, "enriched", table) for table in TEXT_MARTS):
        return []
    rows = _rows(
        warehouse,
        """
            with feel as (
                select journey_stage, min(stage_order) as stage_order, sum(texts) as texts,
                    sum(mean_sentiment * texts) / sum(texts) as sentiment
                from enriched.mart_emotional_journey group by journey_stage
            )
            select feel.journey_stage, feel.texts, feel.sentiment, themes.theme_label,
                themes.customers
            from feel
            left join enriched.mart_friction_themes as themes
                on themes.journey_stage = feel.journey_stage and themes.theme_rank = 1
            order by feel.stage_order
            """,
    )
    if not rows:
        return []
    lines = ["", "What customers write (texts, mean sentiment, top friction theme):"]
    for stage, texts, sentiment, theme, customers in rows:
        top = f"  {theme} ({int(customers):,} customers)" if theme else ""
        lines.append(f"  {stage:<14} {int(texts):>7,}  {sentiment:+.2f}{top}")
    return lines


def _persona_lines(warehouse: Warehouse) -> list[str]:
    """The persona cards in a line each (empty before the segmentation has run, or when the
    enriched marts are not built)."""
    if not table_exists(warehouse, "enriched", "dim_personas"):
        return []
    rows = _rows(
        warehouse,
        """
        select persona_name, customers, share, mean_churn_score, mean_predicted_value,
            difference_1
        from enriched.dim_personas order by customers desc, segment_id
        """,
    )
    if not rows:
        return []
    lines = ["", "Who the customers are (customers, share, churn risk, 90-day value per buyer):"]
    for name, customers, share, churn, value, difference in rows:
        worth = "     n/a" if value is None else f"{value:8,.0f}"
        lines.append(
            f"  {name:<24} {int(customers):>7,} {_share(share)} {_share(churn)} {worth}"
            f"  {difference or ''}"
        )
    return lines


def summarize(warehouse: Warehouse, primary_funnel: str = "purchase") -> str:
    lines = ["Rows per mart:"]
    for table in MART_TABLES:
        (count,) = _rows(warehouse, f"select count(*) from marts.{table}")[0]
        lines.append(f"  {table:<24} {count:>12,}")

    lines.append("")
    lines.append("Journey stages (customers reached -> share going on to the next stage):")
    for stage, reached, conversion in _rows(
        warehouse,
        "select stage_label, customers_reached, conversion_to_next_stage "
        "from marts.mart_journey_stages order by stage_order",
    ):
        share = "" if conversion is None else f"  -> {_share(conversion)}"
        lines.append(f"  {stage:<14} {reached:>9,}{share}")

    lines.append("")
    lines.extend(_funnel_lines(warehouse, primary_funnel))
    lines.append("")
    lines.extend(_path_lines(warehouse))
    lines.extend(_attribution_lines(warehouse))

    lines += _voice_lines(warehouse)
    lines += _persona_lines(warehouse)

    lines.append("")
    unreconciled = _rows(
        warehouse,
        "select source_name, unaccounted_rows from marts.mart_data_reconciliation "
        "where not is_reconciled",
    )
    landed, quarantined, deduplicated = (
        int(v or 0)
        for v in _rows(
            warehouse,
            "select sum(landed_rows), sum(quarantined_rows), sum(deduplicated_rows) "
            "from marts.mart_data_reconciliation",
        )[0]
    )
    status = "every row accounted for" if not unreconciled else f"NOT reconciled: {unreconciled}"
    sources = [
        name
        for (name,) in _rows(
            warehouse,
            "select source_name from marts.mart_data_reconciliation where landed_rows > 0 "
            "order by source_name",
        )
    ]
    lines.append(
        f"Data: {landed:,} landed rows from {len(sources)} source"
        f"{'' if len(sources) == 1 else 's'} ({', '.join(sources) or 'none yet'}), "
        f"{deduplicated:,} duplicates removed, {quarantined:,} quarantined ({status})."
    )
    return "\n".join(lines)


def _funnel_lines(warehouse: Warehouse, funnel: str) -> list[str]:
    """The funnel step by step, split by the devices the data has; in words when nobody
    entered it."""
    name = quote_literal(funnel)
    devices = [
        device
        for device in DEVICES
        if _rows(
            warehouse,
            f"select count(*) from marts.fct_funnel_steps where funnel_name = {name} "
            f"and breakdown = 'device_type' and breakdown_value = {quote_literal(device)}",
        )[0][0]
    ]
    by_device = "".join(
        f", max(case when breakdown_value = {quote_literal(d)} then conversion_from_previous end)"
        for d in devices
    )
    steps = _rows(
        warehouse,
        f"""
        select step_number, step_name,
            max(case when breakdown = 'all' then conversion_from_previous end){by_device}
        from marts.fct_funnel_steps
        where funnel_name = {name}
        group by step_number, step_name order by step_number
        """,
    )
    if not steps:
        first = _rows(
            warehouse,
            "select canonical_event from seeds.funnel_definitions "
            f"where funnel_name = {name} and step_number = 1",
        )
        why = (
            f"no customer has its first step's event ({first[0][0]})"
            if first
            else "funnel_definitions has no funnel of that name"
        )
        return [
            f"Funnel '{funnel}': nobody entered it: {why}. Edit the funnels in your project's "
            "seeds/funnel_definitions.csv or name another one with var primary_funnel."
        ]
    lines = [f"Funnel '{funnel}' ({' / '.join(['all', *devices])}, conversion from previous step):"]
    for step, step_name, *shares in steps:
        lines.append(f"  {step}. {step_name:<20} {'  '.join(_share(v) for v in shares)}")
    return lines


def _path_lines(warehouse: Warehouse) -> list[str]:
    """The most common customer paths to a first order; in words when the data has no
    conversions (then the most common paths) or no paths at all."""
    (conversions,) = _rows(warehouse, "select count(*) from marts.fct_events where is_conversion")[
        0
    ]
    if conversions:
        return [
            "Most common customer paths to a first order (customers):",
            *_counted_paths(
                warehouse,
                "select path, conversions from marts.mart_path_summary "
                "where path_grain = 'customer' and conversions > 0 "
                "order by conversions desc, path limit 5",
            ),
        ]
    paths = _counted_paths(
        warehouse,
        "select path, occurrences from marts.mart_path_summary "
        "where path_grain = 'customer' order by frequency_rank limit 5",
    )
    if not paths:
        return ["Customer paths: none yet (no events outside var path_excluded_events)."]
    return [
        "No conversions: no event is marked is_conversion in the event taxonomy, so paths "
        "run to the end of the data. The most common customer paths:",
        *paths,
    ]
    lines = ["Most common customer paths to a first order (customers):"]
    lines.extend(
        _counted_paths(
            warehouse,
            "select path, conversions from marts.mart_path_summary "
            "where path_grain = 'customer' and conversions > 0 "
            "order by conversions desc, path limit 5",
        )
    )
    return lines
