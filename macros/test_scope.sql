{#- What a generic data test reads of the model it tests (dbt's `get_where_subquery`,
    overridden for the whole project).

    var test_scope = 'all' (the default): the whole model, filtered by the test's `where`
    config if it has one - dbt's own behaviour.
    var test_scope = 'changed' (daily runs of big warehouses): a test of an incremental model
    that documents a `processed_at` column reads only the rows that model's latest run wrote
    (`processed_at` = its latest value; a full build stamps every row alike, so after one the
    whole table is tested). Keys are replaced with delete+insert, so the rows a run did not
    write were tested when they were written. Tests of other models, singular tests and the
    models a test joins to (a relationship's parent) are read whole. -#}
{% macro get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- if config.get('where') -%}
        {%- do filters.append('(' ~ config.get('where') ~ ')') -%}
    {%- endif -%}
    {%- if journeymap.test_reads_latest_rows_only() -%}
        {%- do filters.append('processed_at >= (select max(processed_at) from ' ~ relation ~ ')') -%}
    {%- endif -%}
    {%- if not filters -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set filtered -%}
        (select * from {{ relation }} where {{ filters | join(' and ') }}) dbt_subquery
    {%- endset -%}
    {{ return(filtered) }}
{%- endmacro %}

{% macro test_reads_latest_rows_only() -%}
    {%- set scope = var('test_scope') -%}
    {%- if scope not in ('all', 'changed') -%}
        {{ exceptions.raise_compiler_error(
            "var test_scope must be 'all' or 'changed', not '" ~ scope ~ "'") }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.get('attached_node') or '') -%}
    {{ return(
        scope == 'changed'
        and tested is not none
        and tested.config.materialized == 'incremental'
        and 'processed_at' in tested.columns
    ) }}
{%- endmacro %}
