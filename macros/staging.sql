{#- Keep one row per key: the most recently loaded version wins (ties: later file, later row).
    Used by every staging model, so "deduplicated" means the same thing for every source. -#}
{% macro deduplicate(relation, key_columns) -%}
    select *
    from (
        select
            deduplication_input.*,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by _loaded_at desc, _file_name desc, _row_number desc
            ) as _version_rank
        from {{ relation }} as deduplication_input
    ) as ranked
    where _version_rank = 1
{%- endmacro %}

{#- Web and app events share one contract, so they share one staging shape. -#}
{% macro stage_tracking_events(source_relation, platform) -%}
with source as (

    select * from {{ source_relation }}

),

deduplicated as (

    {{ journeymap.deduplicate('source', ['event_id']) }}

),

renamed as (

    select
        event_id,
        '{{ platform }}' as platform,
        {{ journeymap.nullif_blank('anonymous_id') }} as anonymous_id,
        {{ journeymap.nullif_blank('user_id') }} as user_id,
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
