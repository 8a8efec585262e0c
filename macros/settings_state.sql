{#- Settings an incremental model was built with, recorded in the warehouse, so a changed setting
    never leaves stale rows behind.

    An incremental model's rows depend on more than its input rows: the seeds it reads
    (directly or through any model upstream: the taxonomy, stages, funnels), the vars it and
    the models upstream of it declare (`incremental_config(..., settings=[...])`: the session
    timeout, the path length, ...), its own SQL and the retention period's purges of raw
    (`raw purges`). After every run of an incremental model a post-hook records a fingerprint
    of each of them in `<target schema>.journeymap_model_settings` (one row per model and
    setting); before the next run, `should_full_refresh` (dbt's own
    macro, overridden for the project) compares them. When one differs, or none was recorded
    for a table that exists:

    * var on_settings_change = 'refresh' (the default): the model is rebuilt from scratch. The
      models downstream of it record the same setting (they inherit what is upstream), so they
      are rebuilt from scratch too; nothing else is.
    * 'fail': the run stops with the setting's name and the command that rebuilds it.

    Everything runs inside dbt, so `dbt build` by hand, `journeymap build` and Dagster behave
    alike. -#}

{% macro settings_table() -%}
    {{ return(api.Relation.create(database=target.database, schema=target.schema, identifier='journeymap_model_settings')) }}
{%- endmacro %}

{#- Every node id upstream of `unique_id` (models, seeds, snapshots), appended to `found`. -#}
{% macro collect_upstream(unique_id, found) -%}
    {%- for parent in graph.nodes[unique_id].depends_on.nodes
        if parent in graph.nodes and parent not in found -%}
        {%- do found.append(parent) -%}
        {%- do journeymap.collect_upstream(parent, found) -%}
    {%- endfor -%}
{%- endmacro %}

{#- {setting name: fingerprint} of the model being built: its SQL, every seed upstream of it
    and the vars it and the models upstream of it declare. -#}
{% macro model_settings() -%}
    {%- set node_ids = [model.unique_id] -%}
    {%- do journeymap.collect_upstream(model.unique_id, node_ids) -%}
    {%- set settings = {'model sql': graph.nodes[model.unique_id].checksum.checksum} -%}
    {%- for node_id in node_ids -%}
        {%- set node = graph.nodes[node_id] -%}
        {%- if node.resource_type == 'seed' -%}
            {%- do settings.update({'seed ' ~ node.name: node.checksum.checksum}) -%}
        {%- elif node.resource_type == 'model' -%}
            {%- for name in node.config.meta.get('journeymap_settings', []) -%}
                {%- do settings.update({'var ' ~ name: local_md5(tojson(var(name), sort_keys=true))}) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do settings.update({'raw purges': journeymap.raw_purges_fingerprint()}) -%}
    {{ return(settings) }}
{%- endmacro %}

{#- The retention period's purges (journeymap.retention) as a setting of every incremental
    model: how many purges deleted rows (raw.retention_log, next to the loader's ledger). Each
    such purge changes it, so the next build rebuilds the incremental models from scratch and
    no row built from a purged raw row survives (their rows cannot be traced back to loads;
    erasure, which can trace a person's rows, deletes them instead). 'none' before any purge. -#}
{% macro raw_purges_fingerprint() -%}
    {%- if not execute -%}{{ return('none') }}{%- endif -%}
    {%- set ledger = graph.sources.values()
        | selectattr('source_name', 'equalto', 'loader')
        | selectattr('name', 'equalto', 'load_ledger')
        | first -%}
    {%- set log = adapter.get_relation(ledger.database, ledger.schema, 'retention_log')
        if ledger is defined else none -%}
    {%- if log is none -%}{{ return('none') }}{%- endif -%}
    {%- set rows = run_query(
        "select count(distinct purge_id) from " ~ log ~ " where rows_purged > 0"
    ) -%}
    {{ return('purges ' ~ rows[0][0]) }}
{%- endmacro %}

{#- The settings whose fingerprint differs from the one recorded when this model was last built
    (all of them when its table exists but nothing was recorded). -#}
{% macro changed_settings() -%}
    {%- set current = journeymap.model_settings() -%}
    {%- set table = journeymap.settings_table() -%}
    {%- set recorded = {} -%}
    {%- if adapter.get_relation(table.database, table.schema, table.identifier) is not none -%}
        {%- set rows = run_query(
            "select setting_name, fingerprint from " ~ table
            ~ " where model_name = " ~ journeymap.sql_string(model.unique_id)
        ) -%}
        {%- for row in rows -%}
            {%- do recorded.update({row[0]: row[1]}) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if not recorded -%}
        {{ return(['settings not recorded (built before journeymap recorded them)']) }}
    {%- endif -%}
    {{ return(journeymap.differing(current, recorded)) }}
{%- endmacro %}

{% macro differing(current, recorded) -%}
    {%- set names = [] -%}
    {%- for name, fingerprint in current.items() -%}
        {%- if recorded.get(name) != fingerprint -%}
            {%- do names.append(name) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for name in recorded if name not in current -%}
        {%- do names.append(name) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

{#- dbt's should_full_refresh (the --full-refresh flag or the model's `full_refresh` config),
    and for an incremental model whose table exists: whether a setting changed since it was
    built (above). -#}
{% macro should_full_refresh() -%}
    {%- set configured = config.get('full_refresh') -%}
    {%- set config_full_refresh = flags.FULL_REFRESH if configured is none else configured -%}
    {%- if config_full_refresh or configured is false or not execute
        or model.resource_type != 'model' or model.unique_id not in graph.nodes
        or model.config.materialized != 'incremental' -%}
        {{ return(config_full_refresh) }}
    {%- endif -%}
    {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) -%}
    {%- if existing is none -%}
        {{ return(config_full_refresh) }}
    {%- endif -%}
    {#- dbt asks several times per model: the answer is kept on the model's graph node. -#}
    {%- set node = graph.nodes[model.unique_id] -%}
    {%- if '_journeymap_changed_settings' not in node -%}
        {%- do node.update({'_journeymap_changed_settings': journeymap.changed_settings()}) -%}
        {%- set changed = node['_journeymap_changed_settings'] -%}
        {%- if changed and var('on_settings_change') != 'fail' -%}
            {%- do log(model.name ~ ": rebuilt from scratch, settings changed since its last "
                ~ "build: " ~ changed | join(', '), info=true) -%}
        {%- endif -%}
    {%- endif -%}
    {%- set changed = node['_journeymap_changed_settings'] -%}
    {%- if changed and var('on_settings_change') == 'fail' -%}
        {{ exceptions.raise_compiler_error(
            model.name ~ " was built with other settings than now (" ~ changed | join(', ')
            ~ "); rebuild it from scratch: `journeymap build --full-refresh` (or `dbt build "
            ~ "--full-refresh --select " ~ model.name ~ "+`), or set var on_settings_change "
            ~ "to 'refresh' to do it on every such change") }}
    {%- endif -%}
    {{ return(changed | length > 0) }}
{%- endmacro %}

{#- on-run-start (dbt_project.yml): the table, made once before any model runs (two threads
    making it in their post-hooks at once conflict on DuckDB). -#}
{% macro create_settings_table() -%}
    create table if not exists {{ journeymap.settings_table() }} (
        model_name {{ dbt.type_string() }},
        setting_name {{ dbt.type_string() }},
        fingerprint {{ dbt.type_string() }},
        recorded_at {{ dbt.type_timestamp() }}
    )
{%- endmacro %}

{#- Post-hook of every incremental model (incremental_config): record the settings it was just
    built with. Runs its statements itself and renders nothing. -#}
{% macro record_settings() -%}
    {%- if execute -%}
        {%- set table = journeymap.settings_table() -%}
        {%- do run_query(
            "delete from " ~ table ~ " where model_name = " ~ journeymap.sql_string(model.unique_id)
        ) -%}
        {%- set rows = [] -%}
        {%- for name, fingerprint in journeymap.model_settings().items() -%}
            {%- do rows.append("select " ~ journeymap.sql_string(model.unique_id) ~ ", "
                ~ journeymap.sql_string(name) ~ ", " ~ journeymap.sql_string(fingerprint) ~ ", "
                ~ dbt.current_timestamp()) -%}
        {%- endfor -%}
        {%- do run_query("insert into " ~ table ~ " " ~ rows | join(' union all ')) -%}
    {%- endif -%}
{%- endmacro %}
