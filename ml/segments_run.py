"""The segmentation run: read the core marts (and the churn and value models' tables for
the cards, ``ml.customers_io``), segment every known customer, write
``ml.customer_segments``, ``ml.persona_cards`` and ``ml.persona_snapshots``.

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
from typing import Any

import pandas as pd

from journeymap.ml.customers_io import (
    CardFacts,
    PreviousRun,
    read_card_facts,
    read_previous_run,
    read_segment_frames,
)
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
    PreparedFrames,
    SegmentFrames,
    build_customer_features,
    prepare_frames,
)
from journeymap.ml.segments import (
    Segmentation,
    SegmentConfig,
    agreement_with,
    segment_customers,
)
from journeymap.ml.warehouse_io import WarehouseSchemas, read_latest_load, resolve_as_of
from journeymap.warehouse import Warehouse

MODEL_VERSION = "segments-lca-v2"  # a new version starts its own weekly snapshots
DIFFERENCE_COLUMNS = ("difference_1", "difference_2", "difference_3", "difference_4")


@dataclass(frozen=True)
class RunConfig:
    segments: SegmentConfig = SegmentConfig()
    backfill_weeks: int = 12


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
    loaded_through: pd.Timestamp
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
                "cutoff_at": self.as_of.isoformat(),
                "loaded_through": self.loaded_through.isoformat(),
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
    frames: PreparedFrames,
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
    loaded_through: pd.Timestamp,
    facts: CardFacts,
    previous: PreviousRun | None = None,
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
    previous = previous or PreviousRun()
    as_of = as_cutoff(as_of)
    scored_at = as_cutoff(scored_at or datetime.now(UTC))
    prepared = prepare_frames(frames)
    features = build_customer_features(prepared, as_of)
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
                "loaded_through": loaded_through,
                "previous_loaded_through": previous.loaded_through,
                "previous_cutoff_at": previous.cutoff_at,
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
        first_event = pd.Timestamp(int(prepared.sessions.time.min()), unit="ns")
        weeks = []
        week = live_week - pd.Timedelta(days=7)
        while week + pd.Timedelta(days=7) > first_event and len(weeks) < config.backfill_weeks:
            weeks.append(week)
            week -= pd.Timedelta(days=7)
        rows += _backfill(prepared, features, segmentation, names, sorted(weeks), snapshot_common)
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
        loaded_through=pd.Timestamp(loaded_through),
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
    as_of = resolve_as_of(warehouse, as_of, schemas, "nobody to segment")
    run = score_segments(
        read_segment_frames(warehouse, schemas),
        as_of,
        read_latest_load(warehouse, schemas),
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


def write_no_segmentation(
    warehouse: Warehouse, schemas: WarehouseSchemas = WarehouseSchemas()
) -> None:
    """Empty segment, card and snapshot tables: the data has too few customers to segment
    (``NotEnoughCustomersError``), and no earlier run's segments may stand for it."""
    for output in (CUSTOMER_SEGMENTS, PERSONA_CARDS, PERSONA_SNAPSHOTS):
        write_output(warehouse, output, output.empty(), schema=schemas.ml)
