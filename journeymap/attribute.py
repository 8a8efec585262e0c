"""``journeymap attribute``: channel attribution of any path table, journeymap's or not.

A path table is a CSV (or Parquet) file with one row per path - or per journey: equal paths
are added up - holding the ordered channels (``email > paid_search > direct``), the
conversions, optionally the conversion value and the journeys that did not convert (nulls),
as R's ChannelAttribution and its Python port take it. ``attribute_file`` reads it, runs the
models of ``journeymap.ml.attribution`` and returns one frame (model, channel, conversions,
value); the command writes it as CSV and prints it as a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from journeymap.ml.attribution import (
    HEURISTIC_MODELS,
    MODEL_CHOICES,
    RESULT_COLUMNS,
    SHAPLEY,
    PathTable,
    PathTableError,
    attribute,
)

ALL = "all"


def read_path_file(path: Path) -> pd.DataFrame:
    """A path table file as a frame (CSV, TSV or Parquet, by extension)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no path table at {path}")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", keep_default_na=False)


def models_for(choice: str, has_nulls: bool) -> tuple[list[str], list[str]]:
    """(models to run, notes) for a ``--model`` choice; ``all`` runs Shapley only with nulls."""
    if choice == ALL:
        models = [*HEURISTIC_MODELS, "markov"]
        if has_nulls:
            return [*models, SHAPLEY], []
        return models, ["shapley left out: it needs the non-conversions (--null-column)"]
    if choice not in MODEL_CHOICES:
        known = ", ".join([*MODEL_CHOICES, ALL])
        raise PathTableError(f"unknown model {choice!r}; one of {known}")
    return [MODEL_CHOICES[choice]], []


def attribute_file(
    path: Path,
    path_column: str = "path",
    conversions_column: str = "conversions",
    separator: str = ">",
    value_column: str | None = None,
    null_column: str | None = None,
    model: str = ALL,
    order: int = 1,
    half_life: float = 1.0,
) -> tuple[pd.DataFrame, list[str]]:
    """(model, channel, conversions, value) per model and channel of the path table at
    ``path``, and notes for the reader. Value is empty without a value column."""
    table = PathTable.from_frame(
        read_path_file(path), path_column, conversions_column, separator, value_column, null_column
    )
    if not table.paths:
        raise PathTableError(f"{path} holds no journey (every row has 0 conversions and nulls)")
    models, notes = models_for(model, table.total_nulls > 0)
    result = attribute(table, models, order=order, half_life=half_life)
    if value_column is None:
        result["value"] = float("nan")
    return result[list(RESULT_COLUMNS)], notes


def format_table(result: pd.DataFrame, models: Sequence[str] | None = None) -> str:
    """Conversions per channel (rows) and model (columns), with each model's total."""
    wide = result.pivot_table(
        index="channel", columns="model", values="conversions", aggfunc="sum", sort=False
    )
    order = list(models or dict.fromkeys(result["model"]))
    wide = wide[[m for m in order if m in wide.columns]]
    wide = wide.sort_values(wide.columns[-1], ascending=False)
    wide.loc["total"] = wide.sum()
    return wide.round(2).to_string()


def write_result(result: pd.DataFrame, out: Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result.to_csv(out, index=False)
    return out
