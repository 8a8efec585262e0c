{#- The ordered canonical steps of every customer's path (the path_grain 'customer' half of
    int_path_steps): everything the customer did, across channels, outside
    var path_excluded_events, up to and including their first conversion, consecutive repeats
    collapsed.

    Incremental per customer: a run rebuilds the customers int_customer_activity rebuilt since
    this model last ran (any of their events new, reprocessed or gone); customers with no
    events left are deleted by the post-hook. -#}
{{ journeymap.incremental_config(
    'customer_key',
    post_hook=[journeymap.delete_vanished_owners('customer_key', 'int_customer_activity', 'customer_key')],
    settings=['path_excluded_events'],
) }}

{%- set events = ref('int_events_sessionized') %}
{%- set activity = ref('int_customer_activity') %}

{#- The events are read twice rather than through one CTE, which DuckDB would materialize. #}

with first_conversions as (

    select customer_key, min(occurred_at) as first_converted_at
    from {{ events }}
    where is_conversion
        and {{ journeymap.is_rebuilt_customer('customer_key', activity, events) }}
    group by customer_key

),

customer_events as (

    select
        events.customer_key,
        events.event_key,
        events.occurred_at,
        events.event_order,
        events.canonical_event,
        first_conversions.first_converted_at is not null as converted,
        lag(events.canonical_event) over (
            partition by events.customer_key order by {{ journeymap.event_sequence('events') }}
        ) as previous_event
    from {{ events }} as events
    left join first_conversions on events.customer_key = first_conversions.customer_key
    where {{ journeymap.is_rebuilt_customer('events.customer_key', activity, events) }}
        and (
            first_conversions.first_converted_at is null
            or events.occurred_at <= first_conversions.first_converted_at
        )
        and {{ journeymap.path_event_filter('events') }}

),

final as (

    select
        'customer' as path_grain,
        customer_key as path_owner_key,
        customer_key,
        row_number() over (partition by customer_key order by {{ journeymap.event_sequence() }}) as step_index,
        count(*) over (partition by customer_key) as path_step_count,
        canonical_event,
        lead(canonical_event) over (partition by customer_key order by {{ journeymap.event_sequence() }}) as next_event,
        occurred_at,
        converted,
        {{ dbt.current_timestamp() }} as processed_at
    from customer_events
    where previous_event is null or previous_event <> canonical_event

)

select * from final
