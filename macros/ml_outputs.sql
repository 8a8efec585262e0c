{#- The tables the ML assets write and dbt reads back (sources in models/staging/ml). Created
    empty when absent, so a dbt build works before any model has scored: the contract of what
    ml/ writes lives here, next to the models that read it. -#}
{% macro create_ml_output_tables() %}
    {% set ml_schema = var('ml_schema', 'ml') %}
    {% do run_query("create schema if not exists " ~ ml_schema) %}
    {% do run_query(
        "create table if not exists " ~ ml_schema ~ ".churn_scores ("
        ~ "customer_key " ~ dbt.type_string() ~ ", "
        ~ "churn_score " ~ dbt.type_float() ~ ", "
        ~ "risk_band " ~ dbt.type_string() ~ ", "
        ~ "reason_1 " ~ dbt.type_string() ~ ", "
        ~ "reason_2 " ~ dbt.type_string() ~ ", "
        ~ "reason_3 " ~ dbt.type_string() ~ ", "
        ~ "model_version " ~ dbt.type_string() ~ ", "
        ~ "cutoff_at " ~ dbt.type_timestamp() ~ ", "
        ~ "scored_at " ~ dbt.type_timestamp() ~ ")"
    ) %}
{% endmacro %}
