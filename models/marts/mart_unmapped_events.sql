{#- Raw event names the taxonomy does not map yet, most frequent first: add a row to the
    event_taxonomy seed for each one worth keeping. -#}

with events as (

    select * from {{ ref('int_events_sessionized') }}

),

final as (

    select
        {{ journeymap.surrogate_key(['source', 'raw_event_name']) }} as unmapped_event_key,
        source,
        raw_event_name,
        count(*) as events,
        count(distinct customer_key) as customers,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at
    from events
    where canonical_event = 'unmapped'
    group by source, raw_event_name

)

select * from final
