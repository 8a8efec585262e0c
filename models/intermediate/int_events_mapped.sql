{#- Every interaction of every source as one stream of raw events, each mapped to the
    canonical taxonomy. Raw names with no taxonomy match flow on as `unmapped`. -#}
{{ config(materialized='view') }}

with events as (

    select * from {{ ref('int_events_unioned') }}

),

name_mappings as (

    select * from {{ ref('int_event_name_mappings') }}

),

final as (

    select
        {{ journeymap.surrogate_key(['events.source', 'events.source_event_id']) }} as event_key,
        events.source,
        events.source_event_id,
        events.occurred_at,
        events.event_order,
        events.loaded_at,
        events.raw_event_name,
        coalesce(name_mappings.canonical_event, 'unmapped') as canonical_event,
        coalesce(name_mappings.channel, events.source_channel, events.platform, 'unknown') as channel,
        coalesce(name_mappings.touchpoint, 'unmapped') as touchpoint,
        coalesce(name_mappings.journey_stage, 'unmapped') as journey_stage,
        coalesce(name_mappings.is_conversion, false) as is_conversion,
        events.anonymous_id,
        events.customer_id,
        events.email,
        events.platform,
        events.device_type,
        events.page_url,
        events.referrer,
        events.utm_source,
        events.utm_medium,
        events.utm_campaign,
        events.revenue,
        events.context_id
    from events
    left join name_mappings
        on events.source = name_mappings.source
        and events.raw_event_name = name_mappings.raw_event_name

)

select * from final
