{#- One rule for matching people by email across CRM, ESP, support and reviews. -#}
{% macro normalize_email(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{#- Blank strings are missing values. -#}
{% macro nullif_blank(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{#- A text field of a JSON object held in a varchar column. -#}
{% macro json_text(column, key) -%}
    {{ return(adapter.dispatch('json_text', 'journeymap')(column, key)) }}
{%- endmacro %}

{% macro default__json_text(column, key) -%}
    json_extract_path_text({{ column }}, '{{ key }}')
{%- endmacro %}

{#- Snowflake's JSON_EXTRACT_PATH_TEXT fails on malformed JSON; TRY_PARSE_JSON gives null. -#}
{% macro snowflake__json_text(column, key) -%}
    try_parse_json({{ column }}):{{ key }}::varchar
{%- endmacro %}
