{#- How far each customer got in each funnel of funnel_definitions: one row per customer,
    funnel and step reached. A customer enters at their first step-1 event; step n counts at the
    first step-n event within the funnel's window from entry and - for `strict` funnels - not
    before step n-1. The entry event's device and channel label the whole attempt.

    Incremental per customer: a run rebuilds the customers int_customer_activity rebuilt since
    it last ran (macros/incremental_owners.sql). -#}

{{ journeymap.incremental_config(
    'customer_key',
    post_hook=[journeymap.delete_vanished_owners('customer_key', 'int_customer_activity', 'customer_key')],
    settings=['funnel_max_steps'],
) }}

{%- set events = ref('int_events_sessionized') %}
{%- set activity = ref('int_customer_activity') %}

{#- Steps are unrolled up to var funnel_max_steps; a step nobody can reach costs an empty join. -#}
{%- set max_steps = var('funnel_max_steps') %}

with events as (

    select * from {{ events }}
    where {{ journeymap.is_rebuilt_customer('customer_key', activity, events) }}

),

funnel_definitions as (

    select * from {{ ref('funnel_definitions') }}

),

funnel_events as (

    select
        funnel_definitions.funnel_name,
        funnel_definitions.step_number,
        funnel_definitions.conversion_window_hours,
        funnel_definitions.ordering_mode,
        events.customer_key,
        events.event_key,
        events.occurred_at,
        events.event_order,
        events.device_type,
        events.channel
    from events
    inner join funnel_definitions
        on events.canonical_event = funnel_definitions.canonical_event

),

entry_candidates as (

    select
        *,
        row_number() over (
            partition by funnel_name, customer_key order by {{ journeymap.event_sequence() }}
        ) as attempt_rank
    from funnel_events
    where step_number = 1

),

step_1 as (

    select
        funnel_name,
        customer_key,
        1 as step_number,
        occurred_at as entered_at,
        occurred_at as reached_at,
        cast(null as {{ dbt.type_timestamp() }}) as previous_reached_at,
        coalesce(device_type, 'n/a') as entry_device_type,
        channel as entry_channel
    from entry_candidates
    where attempt_rank = 1

),

{% for step in range(2, max_steps + 1) %}
step_{{ step }} as (

    select
        previous_step.funnel_name,
        previous_step.customer_key,
        {{ step }} as step_number,
        previous_step.entered_at,
        min(funnel_events.occurred_at) as reached_at,
        previous_step.reached_at as previous_reached_at,
        previous_step.entry_device_type,
        previous_step.entry_channel
    from step_{{ step - 1 }} as previous_step
    inner join funnel_events
        on previous_step.funnel_name = funnel_events.funnel_name
        and previous_step.customer_key = funnel_events.customer_key
        and funnel_events.step_number = {{ step }}
        and funnel_events.occurred_at >= case
            when funnel_events.ordering_mode = 'strict' then previous_step.reached_at
            else previous_step.entered_at
        end
        and {{ journeymap.hours_between('previous_step.entered_at', 'funnel_events.occurred_at') }}
            <= funnel_events.conversion_window_hours
    group by
        previous_step.funnel_name,
        previous_step.customer_key,
        previous_step.entered_at,
        previous_step.reached_at,
        previous_step.entry_device_type,
        previous_step.entry_channel

),
{% endfor %}

final as (

    {% for step in range(1, max_steps + 1) %}
    select *, {{ dbt.current_timestamp() }} as processed_at from step_{{ step }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from final
