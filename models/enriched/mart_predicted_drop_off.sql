{#- Predicted drop-off by stage: the open journeys of each current stage, their mean
    probability of not reaching the next stage within the horizon, the drop-offs that adds up
    to, and the next step predicted most often. Journeys at the final stage (nothing later to
    reach) count as open journeys with no drop-off probability. -#}

with predictions as (

    select * from {{ ref('stg_ml__next_step_predictions') }}
    where current_stage is not null

),

stages as (

    select journey_stage, stage_order from {{ ref('journey_stages') }}

),

by_stage as (

    select
        current_stage,
        count(*) as open_journeys,
        avg(drop_off_probability) as mean_drop_off_probability,
        sum(drop_off_probability) as expected_drop_offs,
        avg(journey_end_probability) as mean_journey_end_probability,
        max(horizon_days) as horizon_days
    from predictions
    group by 1

),

next_steps as (

    select
        current_stage,
        next_step_1,
        row_number() over (
            partition by current_stage order by count(*) desc, next_step_1
        ) as step_rank
    from predictions
    group by 1, 2

),

final as (

    select
        by_stage.current_stage,
        stages.stage_order,
        by_stage.open_journeys,
        by_stage.mean_drop_off_probability,
        by_stage.expected_drop_offs,
        by_stage.mean_journey_end_probability,
        next_steps.next_step_1 as likely_next_step,
        by_stage.horizon_days
    from by_stage
    left join stages on by_stage.current_stage = stages.journey_stage
    left join next_steps
        on by_stage.current_stage = next_steps.current_stage
        and next_steps.step_rank = 1

)

select * from final
