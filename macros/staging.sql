{#- Keep one row per key: the most recently loaded version wins (ties: later file, later row).
    Used by every staging model, so "deduplicated" means the same thing for every source.
    Most keys arrive once, so only rows of keys seen more than once are ranked; the rest pass
    straight through in load order (a window over every row sorts them all, and writing rows
    in key-hash order costs about twice as much).
    `relation` is read several times: pass a table, not a CTE (DuckDB would copy a CTE). -#}
{% macro deduplicate(relation, key_columns, where=none) -%}
    {%- set row_filter = where if where else 'true' -%}
    {%- set key_match -%}
        {% for key in key_columns %}duplicate_keys.{{ key }} = candidate.{{ key }}{% if not loop.last %} and {% endif %}{% endfor %}
    {%- endset -%}
    with duplicate_keys as (

        select {{ key_columns | join(', ') }}
        from {{ relation }}
        where {{ row_filter }}
        group by {{ key_columns | join(', ') }}
        having count(*) > 1

    )

    select candidate.*, 1 as _version_rank
    from {{ relation }} as candidate
    where {{ row_filter }}
        and not exists (select 1 from duplicate_keys where {{ key_match }})

    union all

    select *
    from (
        select
            candidate.*,
            row_number() over (
                partition by {% for key in key_columns %}candidate.{{ key }}{% if not loop.last %}, {% endif %}{% endfor %}
                order by candidate._loaded_at desc, candidate._file_name desc, candidate._row_number desc
            ) as _version_rank
        from {{ relation }} as candidate
        where {{ row_filter }}
            and exists (select 1 from duplicate_keys where {{ key_match }})
    ) as ranked
    where _version_rank = 1
{%- endmacro %}

{#- The raw rows an incremental staging table has not staged yet (`deduplicate`'s `where`):
    those loaded after the latest `loaded_at` it holds. none (every row) on a full build. -#}
{% macro loaded_since_last_run() -%}
    {%- if not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return("_loaded_at > (select coalesce(max(loaded_at), cast('1900-01-01' as "
        ~ dbt.type_timestamp() ~ ")) from " ~ this ~ ")") }}
{%- endmacro %}

{#- Web and app events share one contract, so they share one staging shape.
    They are the two biggest streams, so they are incremental tables (email events too):
    deduplicated once per load instead of inside every model that reads them. A run stages
    the rows loaded since the last run; a later load always wins, so a re-sent event replaces
    its earlier version (delete+insert on event_id). -#}
{% macro stage_tracking_events(source_relation, platform) -%}
with deduplicated as (

    {{ journeymap.deduplicate(source_relation, ['event_id'], where=journeymap.loaded_since_last_run()) }}

),

renamed as (

    select
        {{ journeymap.staged_event_columns("'" ~ platform ~ "'") }}
    from deduplicated

)

select * from renamed
{%- endmacro %}

{#- The staged columns of a tracked event (the web/app contract, which project event sources
    share), from a deduplicated raw relation; `platform_sql` says which platform it is (the
    sessions' partition) or null. -#}
{% macro staged_event_columns(platform_sql) -%}
        event_id,
        {{ platform_sql }} as platform,
        {{ journeymap.nullif_blank('anonymous_id') }} as anonymous_id,
        {{ journeymap.nullif_blank('user_id') }} as user_id,
        event_type,
        event_name,
        occurred_at,
        {{ journeymap.event_order() }} as event_order,
        {{ journeymap.nullif_blank('page_url') }} as page_url,
        {{ journeymap.nullif_blank('referrer') }} as referrer,
        lower({{ journeymap.nullif_blank('utm_source') }}) as utm_source,
        lower({{ journeymap.nullif_blank('utm_medium') }}) as utm_medium,
        {{ journeymap.nullif_blank('utm_campaign') }} as utm_campaign,
        coalesce(device_type, 'unknown') as device_type,
        properties,
        _loaded_at as loaded_at,
        _file_name as source_file
{%- endmacro %}


{#- The relation a project event source is read from (var event_sources, journeymap.yml
    `sources`), as raw columns with the loader's bookkeeping: its landing files' raw table, or
    the table it names, its columns mapped by the source's `columns` (a table's rows have no
    file: `_file_name` is the table, `_loaded_at` its `loaded_at` column, else the event time).
    Before the first load of a landing source, an empty relation of the same columns. -#}
{% macro project_source_relation(name, source) -%}
    {%- set contract = ['event_id', 'anonymous_id', 'user_id', 'event_type', 'event_name',
        'occurred_at', 'page_url', 'referrer', 'utm_source', 'utm_medium', 'utm_campaign',
        'device_type', 'properties', 'event_order'] -%}
    {%- if source.get('table') -%}
        {%- set columns = source.get('columns', {}) -%}
        {%- set content_id = journeymap.surrogate_key([columns.get('user_id', 'null'),
            columns.get('anonymous_id', 'null'), columns.event_name, columns.occurred_at]) -%}
        (
            select
                {%- for column in contract %}
                {%- if column == 'event_id' and column not in columns %}
                {{ content_id }} as event_id,
                {%- elif column == 'occurred_at' %}
                cast({{ columns.occurred_at }} as {{ dbt.type_timestamp() }}) as occurred_at,
                {%- elif column == 'event_order' %}
                cast({{ columns.get('event_order', 'null') }} as {{ dbt.type_bigint() }}) as event_order,
                {%- else %}
                cast({{ columns.get(column, 'null') }} as {{ dbt.type_string() }}) as {{ column }},
                {%- endif %}
                {%- endfor %}
                cast({{ source.get('loaded_at') or columns.occurred_at }} as {{ dbt.type_timestamp() }}) as _loaded_at,
                {{ journeymap.sql_string(source.table) }} as _file_name,
                cast(null as {{ dbt.type_bigint() }}) as _row_number
            from {{ source.table }}
        )
    {%- else -%}
        {%- set relation = api.Relation.create(database=target.database, schema='raw', identifier=name) -%}
        {%- if not execute or adapter.get_relation(relation.database, relation.schema, relation.identifier) is not none -%}
            {{ relation }}
        {%- else -%}
            (
                select
                    {%- for column in contract %}
                    cast(null as {{ dbt.type_bigint() if column == 'event_order' else (dbt.type_timestamp() if column == 'occurred_at' else dbt.type_string()) }}) as {{ column }},
                    {%- endfor %}
                    cast(null as {{ dbt.type_timestamp() }}) as _loaded_at,
                    cast(null as {{ dbt.type_string() }}) as _file_name,
                    cast(null as {{ dbt.type_bigint() }}) as _row_number
                where 1 = 0
            )
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- A SQL string literal of any text (single quotes doubled; dbt.string_literal leaves them as
    they are): a project's table expression, channel and names come from journeymap.yml. -#}
{% macro sql_string(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}
