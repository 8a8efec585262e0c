{#- What happens next (ml.next_step_predictions): one row per open journey. -#}
with source as (

    select * from {{ journeymap.ml_output('next_step_predictions') }} as next_step_predictions

),

renamed as (

    select
        customer_key,
        last_step,
        last_step_at,
        steps as journey_steps,
        current_stage,
        next_step_1,
        next_step_1_probability,
        next_step_2,
        next_step_2_probability,
        next_step_3,
        next_step_3_probability,
        journey_end_probability,
        drop_off_probability,
        next_stage,
        horizon_days,
        model as next_step_model,
        drop_off_model,
        model_version as next_step_model_version,
        cutoff_at as next_step_cutoff_at,
        predicted_at

    from source

)

select * from renamed
