{#- The journey map: for each stage, channel and touchpoint, how many customers it reached,
    how many of them went on to the next stage, how many dropped off there, and how long they
    stayed in the stage. The journey map page is drawn from this table. -#}

with events as (

    select * from {{ ref('int_events_sessionized') }}

),

stage_transitions as (

    select * from {{ ref('int_customer_stage_transitions') }}

),

journey_stages as (

    select * from {{ ref('journey_stages') }}

),

touches as (

    select
        journey_stage,
        channel,
        touchpoint,
        customer_key,
        count(*) as events
    from events
    group by journey_stage, channel, touchpoint, customer_key

),

touches_with_outcome as (

    select
        touches.*,
        stage_transitions.reached_next_stage,
        stage_transitions.hours_to_next_stage
    from touches
    inner join stage_transitions
        on touches.customer_key = stage_transitions.customer_key
        and touches.journey_stage = stage_transitions.journey_stage

),

aggregated as (

    select
        journey_stage,
        channel,
        touchpoint,
        count(*) as customers_reached,
        sum(events) as events,
        sum(case when reached_next_stage then 1 else 0 end) as customers_to_next_stage,
        {{ journeymap.median('hours_to_next_stage') }} as median_hours_in_stage
    from touches_with_outcome
    group by journey_stage, channel, touchpoint

),

final as (

    select
        {{ journeymap.surrogate_key(['aggregated.journey_stage', 'aggregated.channel', 'aggregated.touchpoint']) }}
            as journey_map_key,
        aggregated.journey_stage,
        journey_stages.stage_order,
        journey_stages.stage_label,
        aggregated.channel,
        aggregated.touchpoint,
        aggregated.customers_reached,
        aggregated.events,
        case when journey_stages.stage_order < 5 then aggregated.customers_to_next_stage end
            as customers_to_next_stage,
        case when journey_stages.stage_order < 5
            then {{ journeymap.safe_ratio('aggregated.customers_to_next_stage', 'aggregated.customers_reached') }}
        end as conversion_to_next_stage,
        case when journey_stages.stage_order < 5
            then 1 - {{ journeymap.safe_ratio('aggregated.customers_to_next_stage', 'aggregated.customers_reached') }}
        end as drop_off_rate,
        aggregated.median_hours_in_stage
    from aggregated
    inner join journey_stages on aggregated.journey_stage = journey_stages.journey_stage

)

select * from final
