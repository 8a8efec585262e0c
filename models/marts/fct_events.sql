{#- One row per customer interaction, from every source, in the canonical taxonomy, with the
    web/app session it belongs to. A view of int_events_sessionized, where the events are
    stitched, sessionized and kept up to date incrementally. -#}
{{ config(materialized='view') }}

with events as (

    select * from {{ ref('int_events_sessionized') }}

),

final as (

    select
        event_key,
        source,
        source_event_id,
        customer_key,
        customer_id,
        identity_source,
        occurred_at,
        event_order,
        event_date,
        raw_event_name,
        canonical_event,
        channel,
        touchpoint,
        journey_stage,
        is_conversion,
        revenue,
        session_key,
        session_started_at,
        session_partition,
        anonymous_id,
        platform,
        device_type,
        page_url,
        referrer,
        utm_source,
        utm_medium,
        utm_campaign,
        acquisition_channel,
        context_id,
        loaded_at,
        identity_loaded_at,
        processed_at
    from events

)

select * from final
