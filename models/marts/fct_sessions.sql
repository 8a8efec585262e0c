{#- One row per web or app session: a device's events with no gap longer than the session
    timeout (var session_timeout_minutes, default 30). A view of int_sessions_aggregated,
    which is kept up to date per device. -#}
{{ config(materialized='view') }}

with sessions as (

    select * from {{ ref('int_sessions_aggregated') }}

),

final as (

    select
        session_key,
        session_partition,
        customer_key,
        anonymous_id,
        channel,
        device_type,
        acquisition_channel,
        utm_source,
        utm_medium,
        utm_campaign,
        referrer,
        landing_page,
        started_at,
        ended_at,
        session_date,
        duration_seconds,
        event_count,
        distinct_event_count,
        entry_event,
        entry_touchpoint,
        exit_event,
        exit_touchpoint,
        is_bounce,
        converted,
        conversions,
        conversion_revenue,
        processed_at
    from sessions

)

select * from final
