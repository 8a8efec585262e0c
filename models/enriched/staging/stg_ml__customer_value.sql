{#- The value model's lifetime values (ml.customer_value), one row per customer who has
    ordered, named for the customer table they join. -#}
with source as (

    select * from {{ journeymap.ml_output('customer_value') }} as customer_value

),

renamed as (

    select
        customer_key,
        purchases as value_purchases,
        repeat_purchases as value_repeat_purchases,
        mean_repeat_order_value,
        historical_revenue,
        probability_alive,
        horizon_days as value_horizon_days,
        predicted_purchases,
        predicted_order_value,
        predicted_value,
        model_version as value_model_version,
        cutoff_at as value_cutoff_at,
        scored_at as value_scored_at

    from source

)

select * from renamed
