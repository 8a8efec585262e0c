{#- Building a big table in slices (DuckDB only).

    A model whose full build would spill more than a machine has (the sessionized events of a
    100M-event warehouse: tens of GB of DuckDB temp files) filters its input with `in_build_slice(key, slices)`. Its
    first build and full refreshes then run as one `create table` for slice 0 and an
    `insert` per further slice, in the same transaction; each statement holds 1/slices of the
    data in memory. Rows of one key always land in one slice, so windows partitioned by the
    key (sessions per device) are exact. Incremental runs and other adapters build in one
    statement: there the predicate renders `true`. -#}

{#- How many slices a full build needs: one per `build_slice_rows` rows (dbt_project.yml)
    counted by `row_count_sql`. Other warehouses and unit tests build in one statement. -#}
{% macro build_slice_count(row_count_sql) -%}
    {{ return(adapter.dispatch('build_slice_count', 'journeymap')(row_count_sql)) }}
{%- endmacro %}

{% macro default__build_slice_count(row_count_sql) -%}
    {{ return(1) }}
{%- endmacro %}

{% macro duckdb__build_slice_count(row_count_sql) -%}
    {%- if not execute or model.resource_type != 'model' -%}
        {{ return(1) }}
    {%- endif -%}
    {%- set rows = run_query(row_count_sql).columns[0].values()[0] or 0 -%}
    {%- set rows_per_slice = var('build_slice_rows') | int -%}
    {{ return([1, ((rows / rows_per_slice) | round(0, 'ceil') | int)] | max) }}
{%- endmacro %}

{#- The filter that keeps the current slice: a range of the key's 64-bit hash. A range, not
    `hash % slices`, because DuckDB pushes a comparison down through the event-stream views'
    joins and unions to each source's scan, so a slice stitches and maps only its own events;
    it keeps a modulo (an expression that could throw) above them, and every slice then did
    the whole stream's joins. Outside a sliced build (dbt show, a hand run of the compiled SQL)
    the DuckDB variables are unset and every row passes. The marker comment tells
    `create_table_as` how many slices to run. Only DuckDB builds in slices
    (`build_slice_count` is 1 elsewhere), so the DuckDB functions here never reach another
    warehouse. -#}
{% macro in_build_slice(key_expression, slices) -%}
    {%- if slices > 1 -%}
        /* journeymap:build_slices={{ slices }} */
        hash({{ key_expression }}) between
            coalesce(getvariable('journeymap_build_slice_from'), 0::ubigint)
            and coalesce(getvariable('journeymap_build_slice_to'), {{ 2 ** 64 - 1 }}::ubigint)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{% macro build_slices_of(compiled_code) -%}
    {%- set marker = modules.re.search('journeymap:build_slices=([0-9]+)', compiled_code) -%}
    {{ return(marker.group(1) | int if marker else 1) }}
{%- endmacro %}

{#- Sets the hash range of slice `slice` of `slices` (equal ranges; the last ends at 2^64 - 1). -#}
{% macro set_build_slice(slice, slices) -%}
    {%- set width = (2 ** 64) // slices -%}
    set variable journeymap_build_slice_from = {{ slice * width }}::ubigint;
    set variable journeymap_build_slice_to = {{ (slice + 1) * width - 1 if slice < slices - 1 else 2 ** 64 - 1 }}::ubigint;
{%- endmacro %}

{#- dbt-duckdb's create_table_as, run once per slice when the model asks for slices. -#}
{% macro duckdb__create_table_as(temporary, relation, compiled_code, language='sql', partitioned_by=none, sorted_by=none) -%}
    {%- set slices = journeymap.build_slices_of(compiled_code) if language == 'sql' and not temporary else 1 -%}
    {%- if slices > 1 %}
    {{ journeymap.set_build_slice(0, slices) }}
    {% endif -%}
    {{ dbt.duckdb__create_table_as(temporary, relation, compiled_code, language, partitioned_by, sorted_by) }}
    {%- if slices > 1 %};
    {% for slice in range(1, slices) %}
    {{ journeymap.set_build_slice(slice, slices) }}
    insert into {{ relation }} select * from (
        {{ compiled_code }}
    );
    {% endfor %}
    reset variable journeymap_build_slice_from;
    reset variable journeymap_build_slice_to;
    {%- endif %}
{%- endmacro %}
