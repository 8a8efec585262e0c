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
        event_id,
        '{{ platform }}' as platform,
        {{ journeymap.nullif_blank('anonymous_id') }} as anonymous_id,
        {{ journeymap.pseudonym(journeymap.nullif_blank('user_id')) }} as user_id,
        event_type,
        event_name,
        occurred_at,
        {{ journeymap.nullif_blank('page_url') }} as page_url,
        {{ journeymap.nullif_blank('referrer') }} as referrer,
        lower({{ journeymap.nullif_blank('utm_source') }}) as utm_source,
        lower({{ journeymap.nullif_blank('utm_medium') }}) as utm_medium,
        {{ journeymap.nullif_blank('utm_campaign') }} as utm_campaign,
        coalesce(device_type, 'unknown') as device_type,
        properties,
        _loaded_at as loaded_at,
        _file_name as source_file

    from deduplicated

)

select * from renamed
{%- endmacro %}
