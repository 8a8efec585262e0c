{#- One row per customer and journey stage reached: when the customer first reached it, the
    stage reached just before (in time), and whether and when they went on to the next stage
    of the journey order (awareness > consideration > purchase > retention > advocacy).
    "Went on" means an event of the next stage at or after first reaching this one: a customer
    who used the app (retention) before buying still goes on to retention if they use it after.

    Incremental per customer: a run rebuilds the customers int_customer_activity rebuilt since
    it last ran (macros/incremental_owners.sql). -#}

{{ journeymap.incremental_config(
    'customer_key',
    post_hook=[journeymap.delete_vanished_owners('customer_key', 'int_customer_activity', 'customer_key')],
) }}

{%- set events = ref('int_events_sessionized') %}
{%- set activity = ref('int_customer_activity') %}

with events as (

    select * from {{ events }}
    where {{ journeymap.is_rebuilt_customer('customer_key', activity, events) }}

),

journey_stages as (

    select * from {{ ref('journey_stages') }}

),

staged_events as (

    select
        events.customer_key,
        events.occurred_at,
        journey_stages.journey_stage,
        journey_stages.stage_order
    from events
    inner join journey_stages on events.journey_stage = journey_stages.journey_stage

),

stage_reach as (

    select
        customer_key,
        journey_stage,
        stage_order,
        min(occurred_at) as first_reached_at,
        max(occurred_at) as last_active_at,
        count(*) as stage_events
    from staged_events
    group by customer_key, journey_stage, stage_order

),

-- The first event of the next stage at or after the customer first reached each stage.
next_stage_reach as (

    select
        stage_reach.customer_key,
        stage_reach.journey_stage as from_stage,
        min(staged_events.journey_stage) as journey_stage,
        min(staged_events.occurred_at) as first_reached_at
    from stage_reach
    inner join staged_events
        on stage_reach.customer_key = staged_events.customer_key
        and staged_events.stage_order = stage_reach.stage_order + 1
        and staged_events.occurred_at >= stage_reach.first_reached_at
    group by stage_reach.customer_key, stage_reach.journey_stage

),

sequenced as (

    select
        *,
        lag(journey_stage) over (
            partition by customer_key order by first_reached_at, stage_order
        ) as previous_stage,
        lag(first_reached_at) over (
            partition by customer_key order by first_reached_at, stage_order
        ) as previous_stage_reached_at,
        row_number() over (
            partition by customer_key order by stage_order desc
        ) as depth_rank
    from stage_reach

),

final as (

    select
        {{ journeymap.surrogate_key(['sequenced.customer_key', 'sequenced.journey_stage']) }}
            as stage_transition_key,
        sequenced.customer_key,
        sequenced.journey_stage,
        sequenced.stage_order,
        sequenced.first_reached_at,
        sequenced.last_active_at,
        sequenced.stage_events,
        sequenced.previous_stage,
        sequenced.previous_stage_reached_at,
        {{ journeymap.hours_between('sequenced.previous_stage_reached_at', 'sequenced.first_reached_at') }}
            as hours_from_previous_stage,
        next_stage.journey_stage as next_stage,
        next_stage.first_reached_at as next_stage_reached_at,
        next_stage.journey_stage is not null as reached_next_stage,
        {{ journeymap.hours_between('sequenced.first_reached_at', 'next_stage.first_reached_at') }}
            as hours_to_next_stage,
        sequenced.depth_rank = 1 as is_furthest_stage,
        {{ dbt.current_timestamp() }} as processed_at
    from sequenced
    left join next_stage_reach as next_stage
        on sequenced.customer_key = next_stage.customer_key
        and sequenced.journey_stage = next_stage.from_stage

)

select * from final
