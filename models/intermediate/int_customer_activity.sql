{#- One row per customer key that has events: what dim_customers needs from the event stream
    and the sessions (first and last seen and touch, engagement, orders, revenue), built once
    per customer and kept up to date per customer.

    Incremental: a run rebuilds the customers with events processed since it last ran, and the
    customers whose event count changed (events re-stitched to someone else: a device whose
    earlier login arrived late, an email that moved in the CRM). Customers left with no events
    are deleted by the post-hook. `processed_at` says when a customer's row was rebuilt; the
    other per-customer models rebuild the customers stamped after their own last run
    (macros/incremental_owners.sql). -#}
{{ journeymap.incremental_config(
    'customer_key',
    post_hook=[journeymap.delete_vanished_owners('customer_key', 'int_events_sessionized', 'customer_key')],
) }}

{%- set events = ref('int_events_sessionized') %}
{%- set sessions = ref('int_sessions_aggregated') %}

{#- Touches are what the customer did or saw; the system's own sends are not a touch. -#}
{%- set is_touch = "canonical_event not in ('email_sent', 'email_delivered')" %}
{#- The customers this run rebuilds; a full build runs in customer slices when the events
    are many (macros/build_slices.sql). -#}
{%- if is_incremental() %}
{%- set is_rebuilt = 'customer_key in (select customer_key from customers_to_rebuild)' %}
{%- else %}
{%- set is_rebuilt = journeymap.in_owner_build_slice('customer_key', events) %}
{%- endif %}

with

{% if is_incremental() %}

current_event_counts as (

    select customer_key, count(*) as events
    from {{ events }}
    group by customer_key

),

customers_to_rebuild as (

    select customer_key
    from {{ events }}
    where processed_at > {{ journeymap.last_processed_at() }}

    union

    select built.customer_key
    from {{ this }} as built
    inner join current_event_counts on built.customer_key = current_event_counts.customer_key
    where built.events <> current_event_counts.events

),

{% endif %}

-- The events are read twice below rather than through one CTE, which DuckDB would materialize.
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
        min(case when {{ is_touch }} then occurred_at end) as first_touch_at,
        max(case when {{ is_touch }} then occurred_at end) as last_touch_at
    from {{ events }}
    where {{ is_rebuilt }}
    group by customer_key

),

-- Channel and touchpoint of the first and the last touch: the touches at those times, ties
-- broken by event key, as an ordered window would pick them, but without sorting every
-- event (a hash join to two timestamps per customer). The events are filtered to the rebuilt
-- customers too: DuckDB builds its hash table on the events side, and unfiltered that is
-- every event, even in a run with no customer to rebuild.
touch_ends as (

    select
        events.customer_key,
        {%- for position, pick, at in [('first', 'min_by', 'first_touch_at'), ('last', 'max_by', 'last_touch_at')] %}
        {%- for column in ['channel', 'touchpoint'] %}
        {{ pick }}(
            case when events.occurred_at = event_summary.{{ at }} then events.{{ column }} end,
            case when events.occurred_at = event_summary.{{ at }} then events.event_key end
        ) as {{ position }}_touch_{{ column }}{{ ',' if not (position == 'last' and column == 'touchpoint') }}
        {%- endfor %}
        {%- endfor %}
    from (
        select customer_key, occurred_at, channel, touchpoint, event_key
        from {{ events }}
        where {{ is_touch }}
            and {{ is_rebuilt }}
    ) as events
    inner join event_summary
        on events.customer_key = event_summary.customer_key
        and (
            events.occurred_at = event_summary.first_touch_at
            or events.occurred_at = event_summary.last_touch_at
        )
    group by events.customer_key

),

sessions as (

    select * from {{ sessions }}
    where {{ is_rebuilt }}

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
        event_summary.customer_key,
        event_summary.first_seen_at,
        event_summary.last_seen_at,
        event_summary.events,
        event_summary.devices,
        event_summary.orders,
        event_summary.revenue,
        event_summary.first_order_at,
        event_summary.last_order_at,
        event_summary.support_messages,
        event_summary.email_opens,
        event_summary.email_clicks,
        touch_ends.first_touch_channel,
        touch_ends.first_touch_touchpoint,
        touch_ends.last_touch_channel,
        touch_ends.last_touch_touchpoint,
        coalesce(session_summary.sessions, 0) as sessions,
        session_summary.first_acquisition_channel,
        {{ dbt.current_timestamp() }} as processed_at
    from event_summary
    left join touch_ends on event_summary.customer_key = touch_ends.customer_key
    left join session_summary on event_summary.customer_key = session_summary.customer_key

)

select * from final
