"""The segmentation run on the warehouse: read the core marts (and the churn and value
models' tables for the cards), segment every known customer, write ``ml.customer_segments``,
``ml.persona_cards`` and ``ml.persona_snapshots``.

The persona cards read two other ML tables - ``ml.churn_scores`` and ``ml.customer_value`` -
besides the core marts: a card's churn risk and value are numbers its narrative may quote,
so they must be on the card. Either may be missing (a card then says nothing about it).
The text model's ``ml.text_labels`` is read when it exists (intents and sentiments as
features, intents and emotions on the cards).

Snapshots (``ml.persona_snapshots``): a run records the week its data ends in, replacing an
earlier record of the same week, and keeps the other weeks recorded by runs of the same
model version. When none exist (a first run, or a new model version), the earlier weeks of
the data (at most ``backfill_weeks``) are filled by classifying the customers as of each
week's end with this run's model (``is_backfilled``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from journeymap.ml.churn import default_as_of
from journeymap.ml.features import as_cutoff, naive_utc
from journeymap.ml.narrative import Narrator, write_narrative
from journeymap.ml.outputs import (
    CUSTOMER_SEGMENTS,
    PERSONA_CARDS,
    PERSONA_SNAPSHOTS,
    write_output,
)
from journeymap.ml.personas import CardInputs, build_cards, card_json, differences
from journeymap.ml.segment_features import (
    CustomerFeatures,
    SegmentFrames,
    build_customer_features,
)
from journeymap.ml.segments import (
    Segmentation,
    SegmentConfig,
    agreement_with,
    segment_customers,
)
from journeymap.ml.warehouse_io import (
    WarehouseSchemas,
    query_frame,
    read_latest_event_at,
    table_exists,
)
from journeymap.warehouse import Warehouse

MODEL_VERSION = "segments-lca-v1"
# The marts the segmentation reads (the Dagster asset depends on exactly these) and the ML
# tables the cards read.
SEGMENT_INPUT_MARTS = (
    "dim_customers",
    "fct_events",
    "fct_sessions",
    "fct_customer_texts",
    "fct_subscription_versions",
    "fct_journey_paths",
)
CARD_INPUT_TABLES = ("churn_scores", "customer_value")
TEXT_LABELS_TABLE = "text_labels"
DIFFERENCE_COLUMNS = ("difference_1", "difference_2", "difference_3", "difference_4")


@dataclass(frozen=True)
class RunConfig:
    segments: SegmentConfig = SegmentConfig()
    backfill_weeks: int = 12


# ------------------------------------------------------------------------------- reading


def read_segment_frames(
    warehouse: Warehouse, schemas: WarehouseSchemas = WarehouseSchemas()
) -> SegmentFrames:
    m = schemas.marts
    known = f"select customer_key from {m}.dim_customers where is_known"
    frames = {
        "customers": f"""
            select customer_key, crm_created_at as signed_up_at
            from {m}.dim_customers where is_known
        """,
        "events": f"""
            select customer_key, occurred_at, canonical_event, source, session_key,
                is_conversion, revenue
            from {m}.fct_events
            where customer_key in ({known})
                and canonical_event not in ('email_sent', 'email_bounced')
        """,
        "sessions": f"""
            select customer_key, session_key, anonymous_id, started_at, channel as platform,
                device_type, acquisition_channel
            from {m}.fct_sessions
            where customer_key in ({known})
        """,
        "messages": f"""
            select customer_key, occurred_at, subject, body
            from {m}.fct_customer_texts
            where source = 'support_messages' and customer_key in ({known})
        """,
        "reviews": f"""
            select customer_key, occurred_at, text_type, score
            from {m}.fct_customer_texts
            where source = 'reviews' and customer_key in ({known})
        """,
        "subscriptions": f"""
            select customer_key, subscription_id, plan, started_at
            from {m}.fct_subscription_versions
        """,
    }
    read = {name: query_frame(warehouse, sql) for name, sql in frames.items()}
    return SegmentFrames(**read, text_labels=read_text_labels(warehouse, schemas))


def read_text_labels(
    warehouse: Warehouse, schemas: WarehouseSchemas = WarehouseSchemas()
) -> pd.DataFrame | None:
    """The text model's labels per text (customer_key, occurred_at, intent, sentiment,
    emotion), or None until it has run. Labels keyed by text_key are placed on the customer
    and time of their text in fct_customer_texts."""
    if not table_exists(warehouse, schemas.ml, TEXT_LABELS_TABLE):
        return None
    labels = query_frame(warehouse, f"select * from {schemas.ml}.{TEXT_LABELS_TABLE}")
    if "customer_key" not in labels or "occurred_at" not in labels:
        if "text_key" not in labels:
            return None
        texts = query_frame(
            warehouse,
            f"select text_key, customer_key, occurred_at from {schemas.marts}.fct_customer_texts",
        )
        labels = labels.drop(columns=["customer_key", "occurred_at"], errors="ignore")
        labels = labels.merge(texts, on="text_key", how="inner")
    keep = [
        c for c in ("customer_key", "occurred_at", "intent", "sentiment", "emotion") if c in labels
    ]
    return labels[keep] if {"intent", "sentiment", "emotion"} & set(keep) else None


def _optional(warehouse: Warehouse, schemas: WarehouseSchemas, table: str, columns: str):
    if not table_exists(warehouse, schemas.ml, table):
        return pd.DataFrame(columns=["customer_key", *columns.split(", ")])
    return query_frame(warehouse, f"select customer_key, {columns} from {schemas.ml}.{table}")


@dataclass(frozen=True)
class CardFacts:
    """What the cards read besides the features: customer paths, churn scores, values."""

    paths: pd.Series
    churn: pd.DataFrame
    value: pd.DataFrame
    horizon_days: int = 90


def read_card_facts(
    warehouse: Warehouse, schemas: WarehouseSchemas = WarehouseSchemas()
) -> CardFacts:
    paths = query_frame(
        warehouse,
        f"""
        select customer_key, path from {schemas.marts}.fct_journey_paths
        where path_grain = 'customer'
        """,
    )
    churn = _optional(warehouse, schemas, "churn_scores", "churn_score, risk_band")
    value = _optional(
        warehouse, schemas, "customer_value", "predicted_value, probability_alive, horizon_days"
    )
    horizon = value["horizon_days"].dropna()
    return CardFacts(
        paths=paths.drop_duplicates("customer_key").set_index("customer_key")["path"],
        churn=churn.set_index("customer_key"),
        value=value.drop(columns=["horizon_days"]).set_index("customer_key"),
        horizon_days=int(horizon.iloc[0]) if len(horizon) else 90,
    )


@dataclass(frozen=True)
class PreviousRun:
    """What the last run left: memberships, the data it saw, its snapshots."""

    assignments: pd.Series | None = None
    data_through: pd.Timestamp | None = None
    snapshots: pd.DataFrame | None = None

    @property
    def used_ids(self) -> set[int]:
        ids: set[int] = set()
        if self.assignments is not None:
            ids |= {int(v) for v in self.assignments.unique()}
        if self.snapshots is not None and len(self.snapshots):
            ids |= {int(v) for v in self.snapshots["segment_id"].unique()}
        return ids


def read_previous_run(
    warehouse: Warehouse, schemas: WarehouseSchemas = WarehouseSchemas()
) -> PreviousRun:
    assignments, data_through, snapshots = None, None, None
    if table_exists(warehouse, schemas.ml, CUSTOMER_SEGMENTS.table):
        frame = query_frame(
            warehouse,
            f"select customer_key, segment_id, data_through from {schemas.ml}.customer_segments",
        )
        if len(frame):
            assignments = frame.set_index("customer_key")["segment_id"].astype(int)
            data_through = pd.Timestamp(naive_utc(frame["data_through"]).max())
    if table_exists(warehouse, schemas.ml, PERSONA_SNAPSHOTS.table):
        snapshots = query_frame(warehouse, f"select * from {schemas.ml}.persona_snapshots")
    return PreviousRun(assignments, data_through, snapshots)


def planted_personas(truth_dir: Path) -> pd.Series | None:
    """The generator's hidden persona per customer (``<data>/ground_truth/customers.csv``),
    None when the data is not generated."""
    path = Path(truth_dir) / "customers.csv"
    if not path.is_file():
        return None
    truth = pd.read_csv(path, usecols=["customer_id", "persona"], dtype=str)
    return truth.set_index("customer_id")["persona"]


# ------------------------------------------------------------------------------ the run


def week_start(at: pd.Timestamp) -> pd.Timestamp:
    """Monday 00:00 of the week the data before ``at`` ends in."""
    last = pd.Timestamp(at) - pd.Timedelta(microseconds=1)
    return (last - pd.Timedelta(days=last.weekday())).floor("D")


@dataclass
class SegmentationRun:
    segments: pd.DataFrame
    cards: pd.DataFrame
    snapshots: pd.DataFrame
    segmentation: Segmentation
    features: CustomerFeatures
    as_of: pd.Timestamp
    data_through: pd.Timestamp
    agreement: dict[str, Any] | None = None
    unchanged_share: float | None = None
    model_version: str = MODEL_VERSION
    runtime_seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def report_entry(self) -> dict[str, Any]:
        """This run's entry in build/model_report.json."""
        seg = self.segmentation
        agreement = self.agreement or {}
        return {
            "model_version": self.model_version,
            "table": f"ml.{CUSTOMER_SEGMENTS.table}",
            "task": "behavioural segments of known customers (latent class model)",
            "training_window": {
                "data_through": self.data_through.isoformat(),
                "cutoff_at": self.as_of.isoformat(),
            },
            "segments": seg.k,
            "k_selection": {
                "criterion": (
                    "lowest BIC among k whose every segment has bootstrap Jaccard stability "
                    f">= {SegmentConfig().stability_threshold} (Hennig 2007), else the most "
                    "stable k"
                ),
                "candidates": [c.as_dict() for c in seg.candidates],
            },
            "sizes": {str(row.segment_id): int(row.customers) for row in self.cards.itertuples()},
            "ari_vs_planted_personas": agreement.get("ari"),
            "planted_personas_crosstab": agreement.get("crosstab"),
            "held_out": {
                "ari_vs_planted_personas": agreement.get("ari"),
                "customers_compared": agreement.get("customers"),
            },
            "baselines": {"ari_of_a_random_split": 0.0},
            "ids_unchanged_share": self.unchanged_share,
            "rows_written": len(self.segments),
            "narratives": self.cards["narrative_source"].value_counts().to_dict(),
        }

    def metadata(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "segments": self.segmentation.k,
            "customers_segmented": len(self.segments),
            "ari_vs_planted_personas": (self.agreement or {}).get("ari"),
            "ids_unchanged_share": self.unchanged_share,
            "persona_names": ", ".join(self.cards["persona_name"]),
            "snapshot_weeks": int(self.snapshots["week_start"].nunique()),
            "runtime_seconds": round(float(self.runtime_seconds), 3),
            **{f"seconds_{name}": round(v, 3) for name, v in self.timings.items()},
        }


def _card_rows(
    cards: list[dict[str, Any]], narrator: Narrator | None, common: dict[str, Any]
) -> pd.DataFrame:
    rows = []
    for card in cards:
        narrative = write_narrative(card, narrator)
        found = card["differences"]
        row = {
            "segment_id": card["segment_id"],
            "persona_name": card["persona_name"],
            "customers": card["customers"],
            "share": card["share"],
            **{
                column: (found[i]["phrase"] if i < len(found) else None)
                for i, column in enumerate(DIFFERENCE_COLUMNS)
            },
            "typical_path": card["typical_path"],
            "typical_path_share": card["typical_path_share"],
            **{
                key: _listing(card[key])
                for key in ("main_channels", "support_topics", "top_intents", "top_emotions")
            },
            "churn_scored_customers": card["churn_scored_customers"],
            "mean_churn_score": card["mean_churn_score"],
            "high_churn_risk_share": card["high_churn_risk_share"],
            "valued_customers": card["valued_customers"],
            "mean_predicted_value": card["mean_predicted_value"],
            "mean_probability_alive": card["mean_probability_alive"],
            "narrative": narrative.text,
            "narrative_source": narrative.source,
            "narrative_rejected": narrative.rejected,
            "card_json": card_json(card),
            **common,
        }
        rows.append(row)
    return PERSONA_CARDS.conform(pd.DataFrame(rows))


def _listing(items: list[dict[str, Any]]) -> str | None:
    """'paid_social 48%, direct 22%' (None when empty)."""
    if not items:
        return None
    return ", ".join(f"{item['label']} {item['share'] * 100:.0f}%" for item in items)


def _snapshot_rows(
    segments: pd.Series,
    profile: pd.DataFrame,
    names: dict[int, str],
    week: pd.Timestamp,
    snapshot_at: pd.Timestamp,
    backfilled: bool,
    cards: pd.DataFrame | None,
    common: dict[str, Any],
) -> list[dict[str, Any]]:
    total = len(segments)
    rows = []
    by_id = cards.set_index("segment_id") if cards is not None else None
    for segment_id, size in segments.value_counts().sort_index().items():
        members = (segments == segment_id).to_numpy()
        found = differences(profile.reindex(segments.index), members, limit=1)
        card = by_id.loc[segment_id] if by_id is not None and segment_id in by_id.index else None
        rows.append(
            {
                "week_start": week,
                "segment_id": int(segment_id),
                "persona_name": names.get(int(segment_id)),
                "customers": int(size),
                "share": float(size / total),
                "mean_churn_score": None if card is None else card["mean_churn_score"],
                "mean_predicted_value": None if card is None else card["mean_predicted_value"],
                "top_difference": found[0]["phrase"] if found else None,
                "is_backfilled": backfilled,
                "snapshot_at": snapshot_at,
                **common,
            }
        )
    return rows


def _backfill(
    frames: SegmentFrames,
    features: CustomerFeatures,
    segmentation: Segmentation,
    names: dict[int, str],
    weeks: list[pd.Timestamp],
    common: dict[str, Any],
) -> list[dict[str, Any]]:
    """Snapshots of earlier weeks: customers as of each week's end, classified by the model."""
    rows: list[dict[str, Any]] = []
    for week in weeks:
        cutoff = week + pd.Timedelta(days=7)
        then = build_customer_features(frames, cutoff, features.vocabulary)
        if len(then.customers) == 0:
            continue
        labels = segmentation.model.predict(then.blocks)
        ids = pd.Series(
            [segmentation.label_ids.get(int(label)) for label in labels],
            index=then.customers,
            dtype="Int64",
        ).dropna()
        rows += _snapshot_rows(
            ids.astype(int), then.profile, names, week, cutoff, True, None, common
        )
    return rows


def snapshot_history(
    previous: PreviousRun, model_version: str, live_week: pd.Timestamp
) -> pd.DataFrame | None:
    """The previous snapshots worth keeping: same model version, other weeks than this run's."""
    old = previous.snapshots
    if old is None or old.empty:
        return None
    old = old[old["model_version"] == model_version]
    old = old[naive_utc(old["week_start"]) != live_week]
    return old if len(old) else None


def score_segments(
    frames: SegmentFrames,
    as_of: datetime | pd.Timestamp,
    data_through: pd.Timestamp,
    facts: CardFacts,
    previous: PreviousRun = PreviousRun(),
    *,
    narrator: Narrator | None = None,
    truth: pd.Series | None = None,
    config: RunConfig = RunConfig(),
    model_version: str = MODEL_VERSION,
    scored_at: datetime | pd.Timestamp | None = None,
) -> SegmentationRun:
    """The whole segmentation run on frames (no I/O)."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    as_of = as_cutoff(as_of)
    scored_at = as_cutoff(scored_at or datetime.now(UTC))
    features = build_customer_features(frames, as_of)
    timings["features"] = time.perf_counter() - started
    segmentation = segment_customers(
        features.customers,
        features.blocks,
        previous.assignments,
        previous.used_ids,
        config.segments,
    )
    timings["segmentation"] = time.perf_counter() - started - timings["features"]
    assignments = segmentation.assignments()
    cards = build_cards(
        CardInputs(
            profile=features.profile,
            counts=features.counts,
            segments=assignments,
            paths=facts.paths,
            churn=facts.churn,
            value=facts.value,
            horizon_days=facts.horizon_days,
        )
    )
    common = {"model_version": model_version, "cutoff_at": as_of, "scored_at": scored_at}
    card_frame = _card_rows(cards, narrator, common)
    names = dict(zip(card_frame["segment_id"], card_frame["persona_name"], strict=True))

    before = (
        previous.assignments.reindex(features.customers)
        if previous.assignments is not None
        else None
    )
    segments = CUSTOMER_SEGMENTS.conform(
        pd.DataFrame(
            {
                "customer_key": features.customers.to_numpy(),
                "segment_id": segmentation.segment_ids,
                "persona_name": assignments.map(names).to_numpy(),
                "membership_probability": segmentation.membership_probability,
                "previous_segment_id": before.to_numpy() if before is not None else None,
                "data_through": data_through,
                "previous_data_through": previous.data_through,
                **common,
            }
        )
    )
    unchanged = None
    if before is not None and before.notna().any():
        kept = before.notna().to_numpy()
        unchanged = float(
            (before[kept].astype(int).to_numpy() == segmentation.segment_ids[kept]).mean()
        )

    live_week = week_start(as_of)
    snapshot_common = {"model_version": model_version, "recorded_at": scored_at}
    rows = _snapshot_rows(
        assignments, features.profile, names, live_week, as_of, False, card_frame, snapshot_common
    )
    history = snapshot_history(previous, model_version, live_week)
    if history is None:
        first_event = naive_utc(frames.sessions["started_at"]).min()
        weeks = []
        week = live_week - pd.Timedelta(days=7)
        while week + pd.Timedelta(days=7) > first_event and len(weeks) < config.backfill_weeks:
            weeks.append(week)
            week -= pd.Timedelta(days=7)
        rows += _backfill(frames, features, segmentation, names, sorted(weeks), snapshot_common)
        timings["backfill"] = time.perf_counter() - started - sum(timings.values())
    snapshots = pd.DataFrame(rows)
    if history is not None:
        snapshots = pd.concat([history[list(PERSONA_SNAPSHOTS.column_names)], snapshots])
    snapshots = PERSONA_SNAPSHOTS.conform(
        snapshots.sort_values(["week_start", "segment_id"]).reset_index(drop=True)
    )
    agreement = agreement_with(truth, assignments) if truth is not None else None
    return SegmentationRun(
        segments=segments,
        cards=card_frame,
        snapshots=snapshots,
        segmentation=segmentation,
        features=features,
        as_of=as_of,
        data_through=pd.Timestamp(data_through),
        agreement=agreement,
        unchanged_share=unchanged,
        model_version=model_version,
        runtime_seconds=time.perf_counter() - started,
        timings=timings,
    )


def run_segmentation(
    warehouse: Warehouse,
    *,
    as_of: datetime | None = None,
    narrator: Narrator | None = None,
    truth: pd.Series | None = None,
    config: RunConfig = RunConfig(),
    schemas: WarehouseSchemas = WarehouseSchemas(),
) -> SegmentationRun:
    """Read, segment, write the three tables. ``truth`` (customer_key -> planted persona),
    when given, is compared with the segments (adjusted Rand index)."""
    started = time.perf_counter()
    latest = read_latest_event_at(warehouse, schemas)
    if latest is None:
        raise ValueError("marts.fct_events is empty: nobody to segment")
    as_of = as_of or default_as_of(latest)
    run = score_segments(
        read_segment_frames(warehouse, schemas),
        as_of,
        latest,
        read_card_facts(warehouse, schemas),
        read_previous_run(warehouse, schemas),
        narrator=narrator,
        truth=truth,
        config=config,
    )
    for output, frame in (
        (CUSTOMER_SEGMENTS, run.segments),
        (PERSONA_CARDS, run.cards),
        (PERSONA_SNAPSHOTS, run.snapshots),
    ):
        write_output(warehouse, output, frame, schema=schemas.ml)
    run.runtime_seconds = time.perf_counter() - started
    return run
