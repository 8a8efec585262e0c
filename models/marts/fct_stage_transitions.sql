{#- One row per customer and journey stage they reached: when, from which stage, and when
    (if ever) they went on to the next stage. A view of int_customer_stage_transitions, which
    is kept up to date per customer. -#}
{{ config(materialized='view') }}

with stage_transitions as (

    select * from {{ ref('int_customer_stage_transitions') }}

),

final as (

    select
        stage_transition_key,
        customer_key,
        journey_stage,
        stage_order,
        first_reached_at,
        last_active_at,
        stage_events,
        previous_stage,
        previous_stage_reached_at,
        hours_from_previous_stage,
        next_stage,
        next_stage_reached_at,
        reached_next_stage,
        hours_to_next_stage,
        is_furthest_stage,
        processed_at
    from stage_transitions

)

select * from final
