"""How well the text labels match: the ``text_labels`` entry of build/model_report.json.

Two evaluations, both macro-F1 per label set (the mean of the per-class F1 scores, so rare
classes weigh as much as common ones):

* **held out**: the embedded model fitted on three quarters of the shipped corpus, scored on
  the other quarter (``embedded.evaluate_embedded``), beside the majority-class baseline and,
  for sentiment polarity, VADER's compound score alone;
* **generator**: the labels written to ml.text_labels (by whichever backend) against the
  sample data generator's label truth (``<data>/ground_truth/texts.csv``), when it exists.

Sentiment is scored as polarity (negative / neutral / positive by ``labels.polarity``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from journeymap.ml.text.embedded import HEADS, evaluate_embedded, macro_f1
from journeymap.ml.text.labelling import LabellingRun
from journeymap.ml.text.labels import POLARITIES, polarity

TRUTH_FILE = "texts.csv"
_SHORT = {"intent": "intent", "journey_stage": "stage", "emotion": "emotion"}


def generator_figures(labels: pd.DataFrame, truth: pd.DataFrame) -> dict[str, Any]:
    """Macro-F1 of ``labels`` (ml.text_labels) against the generator's truth (texts.csv)."""
    truth = truth.rename(columns={"text_id": "source_text_id"})
    joined = labels.merge(
        truth, on=["source", "source_text_id"], how="inner", suffixes=("", "_true")
    )
    figures: dict[str, Any] = {"texts": len(joined)}
    if joined.empty:
        return figures
    for head, short in _SHORT.items():
        figures[f"{short}_macro_f1"] = macro_f1(joined[f"{head}_true"], joined[head], HEADS[head])
    predicted = [polarity(s) for s in joined["sentiment"]]
    figures["sentiment_polarity_macro_f1"] = macro_f1(
        joined["sentiment_true"], predicted, POLARITIES
    )
    return figures


def read_truth(truth_dir: Path | None) -> pd.DataFrame | None:
    path = Path(truth_dir) / TRUTH_FILE if truth_dir else None
    if path is None or not path.is_file():
        return None
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def report_entry(run: LabellingRun, truth_dir: Path | None) -> dict[str, Any]:
    """The model report entry: held-out and generator figures side by side, and the run."""
    held_out = evaluate_embedded()
    truth = read_truth(truth_dir)
    generator = generator_figures(run.labels, truth) if truth is not None else {}
    entry: dict[str, Any] = {
        "model_version": run.model_version,
        "backend": run.backend,
        "rows_written": len(run.labels),
        "labelled_now": run.labelled_now,
        "reused_from_previous_runs": run.reused,
        "fallbacks_to_embedded": run.fallbacks,
    }
    for name in (*_SHORT.values(), "sentiment_polarity"):
        entry[f"{name}_macro_f1_heldout"] = held_out[f"{name}_macro_f1"]
        entry[f"{name}_macro_f1_generator"] = generator.get(f"{name}_macro_f1")
    entry["sentiment_mae_heldout"] = held_out.get("sentiment_mae")
    entry["sentiment_pearson_heldout"] = held_out.get("sentiment_pearson")
    entry["baselines_heldout"] = held_out["baselines"]
    entry["held_out"] = {
        "texts": held_out["texts"],
        "train_texts": held_out["train_texts"],
        "split": "a quarter of the shipped corpus, by a hash of each text",
        "model": "the embedded model, refitted on the other three quarters",
    }
    entry["generator"] = {
        "texts": generator.get("texts", 0),
        "truth": str(Path(truth_dir) / TRUTH_FILE) if truth is not None else None,
        "labels_from": f"ml.text_labels ({run.backend})",
    }
    entry["sentiment_thresholds"] = held_out["thresholds"]
    entry["backend_figures"] = run.backend_stats
    return entry
