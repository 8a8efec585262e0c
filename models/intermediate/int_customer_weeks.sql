{#- One row per customer and week in which the customer did something: the days they were
    active, their events, completed orders and revenue that week. "Active" means an event by
    the customer, not one that happened to them (var passive_events: email sends, deliveries
    and bounces). Weeks start on Monday (dbt.date_trunc 'week': ISO weeks on DuckDB, and on
    Snowflake with its default WEEK_START).

    Incremental per customer: a run rebuilds the customers int_customer_activity rebuilt since
    it last ran (macros/incremental_owners.sql), and drops customers with no events left. -#}
{{ journeymap.incremental_config(
    'customer_week_key',
    post_hook=[journeymap.delete_vanished_owners('customer_key', 'int_customer_activity', 'customer_key')],
) }}

{%- set events = ref('int_events_sessionized') %}
{%- set activity = ref('int_customer_activity') %}

with events as (

    select * from {{ events }}
    where {{ journeymap.is_rebuilt_customer('customer_key', activity, events) }}
        and {{ journeymap.is_customer_activity() }}

),

weekly as (

    select
        customer_key,
        cast({{ dbt.date_trunc('week', 'event_date') }} as date) as activity_week,
        count(distinct event_date) as active_days,
        max(event_date) as last_active_on,
        count(*) as events,
        sum(case when is_conversion then 1 else 0 end) as orders,
        round(coalesce(sum(case when is_conversion then revenue end), 0), 2) as revenue
    from events
    group by customer_key, cast({{ dbt.date_trunc('week', 'event_date') }} as date)

),

final as (

    select
        {{ journeymap.surrogate_key(['customer_key', 'activity_week']) }} as customer_week_key,
        customer_key,
        activity_week,
        active_days,
        last_active_on,
        events,
        orders,
        revenue,
        {{ dbt.current_timestamp() }} as processed_at
    from weekly

)

select * from final
