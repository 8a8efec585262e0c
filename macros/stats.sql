{#- The median of a numeric expression as an aggregate (the ordered-set form, which DuckDB,
    Snowflake and Postgres all accept). -#}
{% macro median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}

{#- Fractional hours between two timestamps (dbt.datediff counts whole boundaries only). -#}
{% macro hours_between(start_ts, end_ts) -%}
    ({{ dbt.datediff(start_ts, end_ts, 'second') }} / 3600.0)
{%- endmacro %}

{#- Share as a decimal, null when the denominator is 0. -#}
{% macro safe_ratio(numerator, denominator) -%}
    ({{ numerator }} * 1.0 / nullif({{ denominator }}, 0))
{%- endmacro %}
