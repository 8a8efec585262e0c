{#- One row per version of a subscription as the billing system reported it: started, plan
    changed, cancelled. The history lets a model see a subscription as it was at any past
    time (what the churn model trains on); `is_latest_version` picks its current state. -#}

with subscriptions as (

    select * from {{ ref('stg_commerce__subscriptions') }}

),

final as (

    select
        subscription_version_key,
        subscription_id,
        customer_id as customer_key,
        plan,
        started_at,
        cancelled_at,
        updated_at,
        row_number() over (
            partition by subscription_id order by updated_at desc, loaded_at desc
        ) = 1 as is_latest_version
    from subscriptions

)

select * from final
