{#- The table an ML model wrote (a table of source `ml`), or - before that model has ever run -
    an empty relation with the columns and types its source YAML documents, so the enriched
    layer builds on a new warehouse as well. dbt never writes into the ml schema; the Python
    models own it. The source is always referenced, so dbt (and Dagster) see the dependency. -#}
{% macro ml_output(table_name) -%}
    {%- set relation = source('ml', table_name) -%}
    {%- if not execute -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set existing = adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier
    ) -%}
    {%- if existing is not none -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set node = graph.sources.values()
        | selectattr('source_name', 'equalto', 'ml')
        | selectattr('name', 'equalto', table_name)
        | first -%}
    {%- set columns = [] -%}
    {%- for column in node.columns.values() -%}
        {%- do columns.append('cast(null as ' ~ column.data_type ~ ') as ' ~ column.name) -%}
    {%- endfor -%}
    {{ return('(select ' ~ columns | join(', ') ~ ' where 1 = 0)') }}
{%- endmacro %}
