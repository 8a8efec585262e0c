{#- The churn model's scores (ml.churn_scores), one row per scored customer, named for the
    customer table they join. -#}
with source as (

    select * from {{ journeymap.ml_output('churn_scores') }} as churn_scores

),

renamed as (

    select
        customer_key,
        churn_score,
        risk_band as churn_risk_band,
        reason_1 as churn_reason_1,
        reason_2 as churn_reason_2,
        reason_3 as churn_reason_3,
        model_version as churn_model_version,
        cutoff_at as churn_cutoff_at,
        scored_at as churn_scored_at

    from source

)

select * from renamed
