{#- One row per web or app session: a device's events with no gap longer than the session
    timeout (var session_timeout_minutes, default 30). A session converted when its customer
    placed an order between the session's start and the timeout after its last event.

    Incremental: rebuilds every session of each device that fct_events touched since this
    model last ran, and of each device whose customer has a new conversion (delete+insert on
    the device), so recut sessions never linger. -#}
{{
    config(
        materialized='incremental',
        unique_key='session_partition',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        tmp_relation_type='transient',
    )
}}

with events as (

    select * from {{ ref('fct_events') }}

),

{% if is_incremental() %}

newly_processed as (

    select *
    from events
    where processed_at > (select max(processed_at) from {{ this }})

),

-- Devices with new events, and every device of a customer with a new conversion.
touched_partitions as (

    select session_partition
    from newly_processed
    where session_partition is not null

    union

    select events.session_partition
    from events
    inner join newly_processed
        on events.customer_key = newly_processed.customer_key
        and newly_processed.is_conversion
    where events.session_partition is not null

),

session_events as (

    select events.*
    from events
    inner join touched_partitions
        on events.session_partition = touched_partitions.session_partition

),

{% else %}

session_events as (

    select * from events where session_key is not null

),

{% endif %}

conversions as (

    select customer_key, occurred_at, revenue
    from events
    where is_conversion

),

ordered_events as (

    select
        *,
        row_number() over (
            partition by session_key order by occurred_at, event_key
        ) as position_from_start,
        row_number() over (
            partition by session_key order by occurred_at desc, event_key desc
        ) as position_from_end
    from session_events

),

session_bounds as (

    select
        session_key,
        session_partition,
        max(customer_key) as customer_key,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as event_count,
        count(distinct canonical_event) as distinct_event_count,
        max(processed_at) as processed_at
    from ordered_events
    group by session_key, session_partition

),

entries as (

    select
        session_key,
        platform,
        device_type,
        canonical_event as entry_event,
        touchpoint as entry_touchpoint,
        page_url as landing_page,
        referrer,
        utm_source,
        utm_medium,
        utm_campaign,
        acquisition_channel,
        anonymous_id
    from ordered_events
    where position_from_start = 1

),

exits as (

    select session_key, canonical_event as exit_event, touchpoint as exit_touchpoint
    from ordered_events
    where position_from_end = 1

),

session_conversions as (

    select
        session_bounds.session_key,
        count(conversions.occurred_at) as conversions,
        sum(conversions.revenue) as conversion_revenue
    from session_bounds
    inner join conversions
        on session_bounds.customer_key = conversions.customer_key
        and conversions.occurred_at >= session_bounds.started_at
        and conversions.occurred_at <= {{ dbt.dateadd('minute', var('session_timeout_minutes'), 'session_bounds.ended_at') }}
    group by session_bounds.session_key

),

final as (

    select
        session_bounds.session_key,
        session_bounds.session_partition,
        session_bounds.customer_key,
        entries.anonymous_id,
        entries.platform as channel,
        entries.device_type,
        entries.acquisition_channel,
        entries.utm_source,
        entries.utm_medium,
        entries.utm_campaign,
        entries.referrer,
        entries.landing_page,
        session_bounds.started_at,
        session_bounds.ended_at,
        cast(session_bounds.started_at as date) as session_date,
        {{ dbt.datediff('session_bounds.started_at', 'session_bounds.ended_at', 'second') }}
            as duration_seconds,
        session_bounds.event_count,
        session_bounds.distinct_event_count,
        entries.entry_event,
        entries.entry_touchpoint,
        exits.exit_event,
        exits.exit_touchpoint,
        session_bounds.event_count = 1 as is_bounce,
        coalesce(session_conversions.conversions, 0) > 0 as converted,
        coalesce(session_conversions.conversions, 0) as conversions,
        coalesce(session_conversions.conversion_revenue, 0) as conversion_revenue,
        session_bounds.processed_at
    from session_bounds
    inner join entries on session_bounds.session_key = entries.session_key
    inner join exits on session_bounds.session_key = exits.session_key
    left join session_conversions on session_bounds.session_key = session_conversions.session_key

)

select * from final
