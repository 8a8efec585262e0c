{#- int_customer_activity is kept up to date per customer; every customer key of the event
    stream (int_events_sessionized) has its row, with the same event count, and no row outlives
    its customer's events. A drift here means the per-customer incremental logic missed a
    change. -#}
{{ config(severity='error') }}

with event_counts as (

    select customer_key, count(*) as events
    from {{ ref('int_events_sessionized') }}
    group by customer_key

)

select
    coalesce(event_counts.customer_key, activity.customer_key) as customer_key,
    event_counts.events as events_in_event_stream,
    activity.events as events_in_activity
from event_counts
full outer join {{ ref('int_customer_activity') }} as activity
    on event_counts.customer_key = activity.customer_key
where event_counts.events is distinct from activity.events
