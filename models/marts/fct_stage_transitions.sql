{#- One row per customer and journey stage reached: when the customer first reached it, the
    stage reached just before (in time), and whether and when they went on to the next stage
    of the journey order (awareness > consideration > purchase > retention > advocacy). -#}

with events as (

    select * from {{ ref('fct_events') }}

),

journey_stages as (

    select * from {{ ref('journey_stages') }}

),

stage_reach as (

    select
        events.customer_key,
        events.journey_stage,
        journey_stages.stage_order,
        min(events.occurred_at) as first_reached_at,
        max(events.occurred_at) as last_active_at,
        count(*) as stage_events
    from events
    inner join journey_stages on events.journey_stage = journey_stages.journey_stage
    group by events.customer_key, events.journey_stage, journey_stages.stage_order

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
        sequenced.depth_rank = 1 as is_furthest_stage
    from sequenced
    left join stage_reach as next_stage
        on sequenced.customer_key = next_stage.customer_key
        and next_stage.stage_order = sequenced.stage_order + 1
        and next_stage.first_reached_at >= sequenced.first_reached_at

)

select * from final
