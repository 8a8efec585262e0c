{#- Retention cohorts by segment: marts.mart_retention_cohorts' definitions
    (macros/retention.sql) with the customers broken down by their current segment (the
    latest segmentation run; 'unknown' for customers without one). -#}

{%- set customer_weeks = ref('fct_customer_weeks') %}
{%- set customers = journeymap.segmented_customers(
    ref('dim_customers'), ref('stg_ml__customer_segments')
) %}

with cohorts as (

    {{ journeymap.retention_cohorts(customer_weeks, customers, ['segment_id'], include_all=false) }}

),

cards as (

    select * from {{ ref('stg_ml__persona_cards') }}

),

final as (

    select
        cohorts.retention_cohort_key,
        cohorts.cohort_type,
        cohorts.cohort_week,
        case when cohorts.breakdown_value <> 'unknown'
            then cast(cohorts.breakdown_value as {{ dbt.type_bigint() }})
        end as segment_id,
        coalesce(cards.persona_name, 'not segmented') as persona_name,
        cohorts.weeks_since,
        cohorts.activity_week,
        cohorts.cohort_customers,
        cohorts.active_customers,
        cohorts.ordering_customers,
        cohorts.orders,
        cohorts.revenue,
        cohorts.active_rate,
        cohorts.ordering_rate,
        cohorts.revenue_per_customer,
        cohorts.cumulative_revenue_per_customer,
        cohorts.is_complete_week
    from cohorts
    left join cards
        on cohorts.breakdown_value = cast(cards.segment_id as {{ dbt.type_string() }})

)

select * from final
