"""Text assets: what customers say and feel.

``ml/text_labels`` labels every text of ``marts.fct_customer_texts`` (intent, journey stage,
sentiment, emotion; incremental: only new or changed texts are labelled) with the configured
backend (JOURNEYMAP_TEXT_BACKEND: embedded by default, or llm) and records its held-out and
generator macro-F1 in the model report. ``ml/text_themes`` clusters the negative texts of
each stage into friction themes. The Great Expectations suite ``ml.text_labels`` (label
values in their sets, every text labelled once, confidences in [0, 1]) is a blocking check
on the labels, so the themes and the enriched marts never read bad labels.
"""

from typing import Any

from dagster import (
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    asset,
)
from pydantic import Field

from journeymap.ml.outputs import CONSENT_MART, refusals_in
from journeymap.orchestration.assets.ml import model_result
from journeymap.orchestration.keys import ML_GROUP, TEXT_LABELS_KEY, TEXT_THEMES_KEY, mart_key
from journeymap.orchestration.metadata import markdown_table
from journeymap.orchestration.resources import step_warehouse
from journeymap.settings import Settings

TEXT_INPUT_MART = "fct_customer_texts"


class TextLabellingConfig(Config):
    backend: str | None = Field(
        default=None,
        description="embedded or llm (default: JOURNEYMAP_TEXT_BACKEND, else embedded).",
    )


@asset(
    key=TEXT_LABELS_KEY,
    group_name=ML_GROUP,
    deps=[mart_key(TEXT_INPUT_MART), mart_key(CONSENT_MART)],
    kinds={"scikit-learn"},
    description=(
        "Intent, journey stage, sentiment and emotion of every text a customer wrote, with "
        "confidences (ml.text_labels); only new or changed texts are labelled. Metadata: "
        "macro-F1 on the held-out corpus and on the generator's truth, and for the llm "
        "backend requests, retries, latency, tokens and cost."
    ),
    metadata={"dagster/table_name": "ml.text_labels"},
)
def text_labels(
    context: AssetExecutionContext, config: TextLabellingConfig, settings: ResourceParam[Settings]
) -> MaterializeResult:
    from journeymap.ml.text.backends import make_backend
    from journeymap.ml.text.evaluation import report_entry
    from journeymap.ml.text.labelling import run_text_labelling

    with step_warehouse(context, settings) as warehouse:
        backend = make_backend(config.backend, warehouse)
        run = run_text_labelling(warehouse, backend)
        excluded = refusals_in(warehouse, (TEXT_INPUT_MART,))
    context.log.info(
        f"text labels: {run.labelled_now} labelled by {run.backend}, {run.reused} kept, "
        f"{run.fallbacks} fell back to the embedded model"
    )
    entry = report_entry(run, settings.truth_dir)
    metadata: dict[str, Any] = dict(run.metadata())
    for key in ("intent", "stage", "emotion", "sentiment_polarity"):
        for split in ("heldout", "generator"):
            name = f"{key}_macro_f1_{split}"
            metadata[name] = entry[name]
    metadata["intent_counts"] = MetadataValue.json(
        run.labels["intent"].value_counts().to_dict() if len(run.labels) else {}
    )
    return model_result(
        context, settings, "text_labels", entry, metadata, excluded_no_consent=excluded
    )


@asset(
    key=TEXT_THEMES_KEY,
    group_name=ML_GROUP,
    deps=[TEXT_LABELS_KEY, mart_key(TEXT_INPUT_MART), mart_key(CONSENT_MART)],
    kinds={"scikit-learn"},
    description=(
        "Friction themes: the negative texts of each journey stage clustered into themes "
        "(TF-IDF of word families + NMF, the number of themes by stability under "
        "subsampling) with a readable label, masked example texts and ids kept from the "
        "previous run (ml.text_themes)."
    ),
    metadata={"dagster/table_name": "ml.text_themes"},
)
def text_themes(
    context: AssetExecutionContext, settings: ResourceParam[Settings]
) -> MaterializeResult:
    from journeymap.ml.text.themes import MODEL_VERSION, run_friction_themes, theme_summary

    with step_warehouse(context, settings) as warehouse:
        built = run_friction_themes(warehouse)
        excluded = refusals_in(warehouse, (TEXT_INPUT_MART,))
    themes = built.themes
    summary = theme_summary(themes)
    entry = {
        "model_version": MODEL_VERSION,
        "rows_written": len(themes),
        "themes": len(summary),
        "themes_per_stage": summary.groupby("journey_stage").size().to_dict()
        if len(summary)
        else {},
        "theme_count_per_stage": built.stages_report(),
        "top_theme_per_stage": {
            row["journey_stage"]: row["theme_label"]
            for row in summary[summary["theme_rank"] == 1].to_dict("records")
        },
    }
    metadata: dict[str, Any] = {"themes": len(summary), "texts_in_themes": len(themes)}
    if len(summary):
        metadata["themes_table"] = MetadataValue.md(markdown_table(summary.to_dict("records")))
    return model_result(
        context, settings, "text_themes", entry, metadata, excluded_no_consent=excluded
    )


text_assets = [text_labels, text_themes]
