{#- One row per journey stage: customers who reached it, how many went on to the next stage,
    the drop-off, and the median hours from reaching the stage to reaching the next one. -#}

with stage_transitions as (

    select * from {{ ref('int_customer_stage_transitions') }}

),

journey_stages as (

    select * from {{ ref('journey_stages') }}

),

aggregated as (

    select
        journey_stage,
        count(*) as customers_reached,
        sum(case when reached_next_stage then 1 else 0 end) as customers_to_next_stage,
        sum(case when is_furthest_stage then 1 else 0 end) as customers_furthest_here,
        {{ journeymap.median('hours_to_next_stage') }} as median_hours_to_next_stage
    from stage_transitions
    group by journey_stage

),

final as (

    select
        journey_stages.journey_stage,
        journey_stages.stage_order,
        journey_stages.stage_label,
        journey_stages.description,
        coalesce(aggregated.customers_reached, 0) as customers_reached,
        case when journey_stages.stage_order < 5 then coalesce(aggregated.customers_to_next_stage, 0) end
            as customers_to_next_stage,
        case when journey_stages.stage_order < 5
            then {{ journeymap.safe_ratio('aggregated.customers_to_next_stage', 'aggregated.customers_reached') }}
        end as conversion_to_next_stage,
        case when journey_stages.stage_order < 5
            then 1 - {{ journeymap.safe_ratio('aggregated.customers_to_next_stage', 'aggregated.customers_reached') }}
        end as drop_off_rate,
        coalesce(aggregated.customers_furthest_here, 0) as customers_furthest_here,
        aggregated.median_hours_to_next_stage
    from journey_stages
    left join aggregated on journey_stages.journey_stage = aggregated.journey_stage

)

select * from final
