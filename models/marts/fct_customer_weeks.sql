{#- One row per customer and week they were active: active days, events, orders, revenue.
    A view of int_customer_weeks (kept up to date per customer), what the retention and
    lifecycle marts count. -#}
{{ config(materialized='view') }}

with customer_weeks as (

    select * from {{ ref('int_customer_weeks') }}

),

final as (

    select
        customer_week_key,
        customer_key,
        activity_week,
        active_days,
        last_active_on,
        events,
        orders,
        revenue,
        processed_at
    from customer_weeks

)

select * from final
