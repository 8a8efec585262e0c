{#- One row per customer key that has events: what dim_customers needs from the event stream
    and the sessions (first and last seen and touch, engagement, orders, revenue), built once
    per customer and kept up to date per customer.

    Incremental: a run rebuilds the customers with events processed since it last ran, and the
    customers whose event count changed (events re-stitched to someone else: a device whose
    earlier login arrived late, an email that moved in the CRM). Customers left with no events
    are deleted by the post-hook. `processed_at` says when a customer's row was rebuilt; the
    other per-customer models rebuild the customers stamped after their own last run
    (macros/incremental_owners.sql). -#}
{{
    config(
        materialized='incremental',
        unique_key='customer_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        tmp_relation_type='transient',
        post_hook="{{ journeymap.delete_vanished_customers(ref('fct_events')) }}",
    )
}}

with

{% if is_incremental() %}

current_event_counts as (

    select customer_key, count(*) as events
    from {{ ref('fct_events') }}
    group by customer_key

),

customers_to_rebuild as (

    select customer_key
    from {{ ref('fct_events') }}
    where processed_at > {{ journeymap.last_processed_at() }}

    union

    select built.customer_key
    from {{ this }} as built
    inner join current_event_counts on built.customer_key = current_event_counts.customer_key
    where built.events <> current_event_counts.events

),

events as (

    select *
    from {{ ref('fct_events') }}
    where customer_key in (select customer_key from customers_to_rebuild)

),

sessions as (

    select *
    from {{ ref('fct_sessions') }}
    where customer_key in (select customer_key from customers_to_rebuild)

),

{% else %}

events as (

    select * from {{ ref('fct_events') }}

),

sessions as (

    select * from {{ ref('fct_sessions') }}

),

{% endif %}

-- Touches are what the customer did or saw; the system's own sends are not a touch. Each
-- touch's position from the first and the touch count find first and last touch in the same
-- pass as the other per-customer figures (one window sort, no self-joins).
positioned_events as (

    select
        customer_key,
        source,
        canonical_event,
        channel,
        touchpoint,
        occurred_at,
        anonymous_id,
        is_conversion,
        revenue,
        canonical_event not in ('email_sent', 'email_delivered') as is_touch,
        row_number() over (
            partition by customer_key, canonical_event not in ('email_sent', 'email_delivered')
            order by occurred_at, event_key
        ) as touch_position,
        count(*) over (
            partition by customer_key, canonical_event not in ('email_sent', 'email_delivered')
        ) as touch_count
    from events

),

event_summary as (

    select
        customer_key,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at,
        count(*) as events,
        count(distinct anonymous_id) as devices,
        sum(case when is_conversion then 1 else 0 end) as orders,
        coalesce(sum(case when is_conversion then revenue end), 0) as revenue,
        min(case when is_conversion then occurred_at end) as first_order_at,
        max(case when is_conversion then occurred_at end) as last_order_at,
        sum(case when source = 'support_messages' then 1 else 0 end) as support_messages,
        sum(case when canonical_event = 'email_opened' then 1 else 0 end) as email_opens,
        sum(case when canonical_event = 'email_clicked' then 1 else 0 end) as email_clicks,
        max(case when is_touch and touch_position = 1 then channel end) as first_touch_channel,
        max(case when is_touch and touch_position = 1 then touchpoint end)
            as first_touch_touchpoint,
        max(case when is_touch and touch_position = touch_count then channel end)
            as last_touch_channel,
        max(case when is_touch and touch_position = touch_count then touchpoint end)
            as last_touch_touchpoint
    from positioned_events
    group by customer_key

),

session_summary as (

    select
        customer_key,
        count(*) as sessions,
        max(case when session_position = 1 then acquisition_channel end)
            as first_acquisition_channel
    from (
        select
            customer_key,
            acquisition_channel,
            row_number() over (partition by customer_key order by started_at, session_key)
                as session_position
        from sessions
    ) as positioned_sessions
    group by customer_key

),

final as (

    select
        event_summary.*,
        coalesce(session_summary.sessions, 0) as sessions,
        session_summary.first_acquisition_channel,
        {{ dbt.current_timestamp() }} as processed_at
    from event_summary
    left join session_summary on event_summary.customer_key = session_summary.customer_key

)

select * from final
