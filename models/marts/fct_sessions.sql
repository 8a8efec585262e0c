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
        post_hook=[journeymap.checkpoint_after_merge()],
    )
}}

{#- fct_events is read directly where needed, not through one import CTE: DuckDB would
    materialize a CTE read twice (a copy of the whole event table). -#}
with

{% if is_incremental() %}

touched_partitions as (

    {{ journeymap.session_partitions_changed_since_last_run() }}

),

session_events as (

    select events.*
    from {{ ref('fct_events') }} as events
    inner join touched_partitions
        on events.session_partition = touched_partitions.session_partition

),

{% else %}

{#- A full build runs in device slices when the event table is big (macros/build_slices.sql):
    a session never spans devices. -#}
{%- set build_slices = journeymap.build_slice_count(
    'select count(session_key) from ' ~ ref('fct_events')
) %}

session_events as (

    select * from {{ ref('fct_events') }}
    where session_key is not null
        and {{ journeymap.in_build_slice('session_partition', build_slices) }}

),

{% endif %}

conversions as (

    select customer_key, occurred_at, revenue
    from {{ ref('fct_events') }}
    where is_conversion

),

-- Each event's position in its session: the first is the entry, the last (position = event
-- count) the exit. One window sort, then one aggregate pivots entry and exit attributes out
-- (cheaper than arg_min of a struct or a second, descending window joined back).
positioned_events as (

    select
        *,
        row_number() over (
            partition by session_key order by occurred_at, event_key
        ) as position_in_session,
        count(*) over (partition by session_key) as events_in_session
    from session_events

),

session_summary as (

    select
        session_key,
        session_partition,
        max(customer_key) as customer_key,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as event_count,
        count(distinct canonical_event) as distinct_event_count,
        max(processed_at) as processed_at,
        {%- for column, alias in [
            ('platform', 'platform'),
            ('device_type', 'device_type'),
            ('canonical_event', 'entry_event'),
            ('touchpoint', 'entry_touchpoint'),
            ('page_url', 'landing_page'),
            ('referrer', 'referrer'),
            ('utm_source', 'utm_source'),
            ('utm_medium', 'utm_medium'),
            ('utm_campaign', 'utm_campaign'),
            ('acquisition_channel', 'acquisition_channel'),
            ('anonymous_id', 'anonymous_id'),
        ] %}
        max(case when position_in_session = 1 then {{ column }} end) as {{ alias }},
        {%- endfor %}
        max(case when position_in_session = events_in_session then canonical_event end)
            as exit_event,
        max(case when position_in_session = events_in_session then touchpoint end)
            as exit_touchpoint
    from positioned_events
    group by session_key, session_partition

),

session_conversions as (

    select
        session_summary.session_key,
        count(conversions.occurred_at) as conversions,
        sum(conversions.revenue) as conversion_revenue
    from session_summary
    inner join conversions
        on session_summary.customer_key = conversions.customer_key
        and conversions.occurred_at >= session_summary.started_at
        and conversions.occurred_at <= {{ dbt.dateadd('minute', var('session_timeout_minutes'), 'session_summary.ended_at') }}
    group by session_summary.session_key

),

final as (

    select
        session_summary.session_key,
        session_summary.session_partition,
        session_summary.customer_key,
        session_summary.anonymous_id,
        session_summary.platform as channel,
        session_summary.device_type,
        session_summary.acquisition_channel,
        session_summary.utm_source,
        session_summary.utm_medium,
        session_summary.utm_campaign,
        session_summary.referrer,
        session_summary.landing_page,
        session_summary.started_at,
        session_summary.ended_at,
        cast(session_summary.started_at as date) as session_date,
        {{ dbt.datediff('session_summary.started_at', 'session_summary.ended_at', 'second') }}
            as duration_seconds,
        session_summary.event_count,
        session_summary.distinct_event_count,
        session_summary.entry_event,
        session_summary.entry_touchpoint,
        session_summary.exit_event,
        session_summary.exit_touchpoint,
        session_summary.event_count = 1 as is_bounce,
        coalesce(session_conversions.conversions, 0) > 0 as converted,
        coalesce(session_conversions.conversions, 0) as conversions,
        coalesce(session_conversions.conversion_revenue, 0) as conversion_revenue,
        session_summary.processed_at
    from session_summary
    left join session_conversions
        on session_summary.session_key = session_conversions.session_key

)

select * from final
