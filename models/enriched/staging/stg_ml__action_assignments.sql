{#- Next best action decisions (ml.action_assignments): one per customer and experiment. -#}
with source as (

    select * from {{ journeymap.ml_output('action_assignments') }} as action_assignments

),

renamed as (

    select
        experiment,
        customer_key,
        action,
        channel as action_channel,
        goal as action_goal,
        is_holdout,
        reason as decision_reason,
        current_stage as stage_at_assignment,
        message as action_message,
        assigned_at

    from source

)

select * from renamed
