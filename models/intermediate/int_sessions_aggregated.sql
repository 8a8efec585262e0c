{#- One row per web or app session (int_events_sessionized's session_key): its device, entry
    and exit, acquisition channel, duration and events. A session converted when its customer
    placed an order between the session's start and the timeout after its last event.
    marts.fct_sessions is this table as BI reads it.

    Incremental: rebuilds every session of each device that int_events_sessionized touched
    since this model last ran, and of each device whose customer has a new conversion
    (delete+insert on the device), so recut sessions never linger. -#}
{{ journeymap.incremental_config('session_partition', settings=['session_timeout_minutes']) }}
{#- Snowflake: micro-partitions by session start date, the filter of most session queries.
    Other adapters ignore it. -#}
{{ config(cluster_by=['to_date(started_at)']) }}

{%- set events = ref('int_events_sessionized') %}

{#- The session events are read where needed, not through one CTE: DuckDB would materialize a
    CTE read three times (a copy of the event table). -#}
{% if is_incremental() %}

{%- set session_events -%}
    (
        select events.*
        from {{ events }} as events
        inner join touched_partitions
            on events.session_partition = touched_partitions.session_partition
    )
{%- endset %}

with

touched_partitions as (

    {{ journeymap.session_partitions_changed_since_last_run(events) }}

),

{% else %}

{#- A full build runs in device slices when the event table is big (macros/build_slices.sql):
    a session never spans devices. -#}
{%- set build_slices = journeymap.build_slice_count(
    'select count(session_key) from ' ~ events
) %}
{%- set session_events -%}
    (
        select * from {{ events }}
        where session_key is not null
            and {{ journeymap.in_build_slice('session_partition', build_slices) }}
    )
{%- endset %}

with

{% endif %}

conversions as (

    select customer_key, occurred_at, revenue
    from {{ events }}
    where is_conversion

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
    from {{ session_events }} as session_events
    group by session_key, session_partition

),

-- The entry is the session's first event (by time, then source order and event_key), the exit its last. They
-- are found by joining the events at the session's first and last instant, not by a window
-- over every event of every session, which sorts every event.
entries as (

    select
        session_events.session_key,
        session_events.platform,
        session_events.device_type,
        session_events.canonical_event as entry_event,
        session_events.touchpoint as entry_touchpoint,
        session_events.page_url as landing_page,
        session_events.referrer,
        session_events.utm_source,
        session_events.utm_medium,
        session_events.utm_campaign,
        session_events.acquisition_channel,
        session_events.anonymous_id
    from {{ session_events }} as session_events
    inner join session_bounds
        on session_events.session_key = session_bounds.session_key
        and session_events.occurred_at = session_bounds.started_at
    qualify row_number() over (
        partition by session_events.session_key
        order by session_events.event_order nulls last, session_events.event_key
    ) = 1

),

exits as (

    select
        session_events.session_key,
        session_events.canonical_event as exit_event,
        session_events.touchpoint as exit_touchpoint
    from {{ session_events }} as session_events
    inner join session_bounds
        on session_events.session_key = session_bounds.session_key
        and session_events.occurred_at = session_bounds.ended_at
    qualify row_number() over (
        partition by session_events.session_key
        order by session_events.event_order desc nulls first, session_events.event_key desc
    ) = 1

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
    left join session_conversions
        on session_bounds.session_key = session_conversions.session_key

)

select * from final
