"""What the ML assets write: the columns of each output table (dbt's macros/ml_outputs.sql
creates the same tables empty) and their closed value sets. Light on imports on purpose: the
quality suites read it too."""

CHURN_SCORE_COLUMNS: tuple[str, ...] = (
    "customer_key",
    "churn_score",
    "risk_band",
    "reason_1",
    "reason_2",
    "reason_3",
    "model_version",
    "cutoff_at",
    "scored_at",
)
RISK_BANDS: tuple[str, ...] = ("low", "medium", "high")
