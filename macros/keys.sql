{#- A stable hashed key from several columns (nulls and separators made explicit so that
    ('a', 'bc') and ('ab', 'c') differ). Portable: dbt.hash and dbt.concat dispatch per adapter. -#}
{% macro surrogate_key(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '_null_')") -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{#- A timestamp as key text, the same on every warehouse and in every session:
    'YYYY-MM-DD HH:MI:SS', then the fraction of a second without trailing zeros when there is
    one (how DuckDB casts a timestamp to text). Snowflake casts by the session's
    TIMESTAMP_NTZ_OUTPUT_FORMAT (default: milliseconds only), so a key built from a plain cast
    would differ from DuckDB's and change with a session setting; there it is formatted
    explicitly. -#}
{% macro timestamp_text(column) -%}
    {{ return(adapter.dispatch('timestamp_text', 'journeymap')(column)) }}
{%- endmacro %}

{% macro default__timestamp_text(column) -%}
    cast({{ column }} as {{ dbt.type_string() }})
{%- endmacro %}

{% macro snowflake__timestamp_text(column) -%}
    rtrim(rtrim(to_varchar({{ column }}, 'YYYY-MM-DD HH24:MI:SS.FF6'), '0'), '.')
{%- endmacro %}
