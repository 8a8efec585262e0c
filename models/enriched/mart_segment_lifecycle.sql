{#- The customer lifecycle by segment: marts.mart_customer_lifecycle's definitions
    (macros/retention.sql) with the customers broken down by their current segment (the
    latest segmentation run; 'unknown' for customers without one). -#}

{%- set customer_weeks = ref('fct_customer_weeks') %}
{%- set customers = journeymap.segmented_customers(
    ref('dim_customers'), ref('stg_ml__customer_segments')
) %}

with lifecycle as (

    {{ journeymap.customer_lifecycle(customer_weeks, customers, ['segment_id'], include_all=false) }}

),

cards as (

    select * from {{ ref('stg_ml__persona_cards') }}

),

final as (

    select
        lifecycle.lifecycle_key,
        lifecycle.activity_week,
        case when lifecycle.breakdown_value <> 'unknown'
            then cast(lifecycle.breakdown_value as {{ dbt.type_bigint() }})
        end as segment_id,
        coalesce(cards.persona_name, 'not segmented') as persona_name,
        lifecycle.active_customers,
        lifecycle.new_customers,
        lifecycle.returning_customers,
        lifecycle.resurrected_customers,
        lifecycle.dormant_customers,
        lifecycle.quick_ratio,
        lifecycle.customers_active_1_day,
        lifecycle.customers_active_2_days,
        lifecycle.customers_active_3_days,
        lifecycle.customers_active_4_days,
        lifecycle.customers_active_5_days,
        lifecycle.customers_active_6_days,
        lifecycle.customers_active_7_days,
        lifecycle.mean_active_days,
        lifecycle.is_complete_week
    from lifecycle
    left join cards
        on lifecycle.breakdown_value = cast(cards.segment_id as {{ dbt.type_string() }})

)

select * from final
