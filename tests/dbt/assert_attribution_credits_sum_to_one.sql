{#- Every conversion is credited once in full by every heuristic model: its credits sum to 1
    and its attributed revenue to its revenue, for each of the models fct_attribution_touches
    has, and no conversion of mart_conversion_paths is missing from any of them. -#}
{{ config(severity='error') }}

with credits as (

    select * from {{ ref('fct_attribution_touches') }}

),

conversions as (

    select * from {{ ref('mart_conversion_paths') }}

),

models as (

    select distinct attribution_model from credits

),

totals as (

    select conversion_key, attribution_model, sum(credit) as credit, sum(attributed_revenue) as revenue
    from credits
    group by conversion_key, attribution_model

)

select
    conversions.conversion_key,
    models.attribution_model,
    totals.credit,
    totals.revenue,
    conversions.revenue as conversion_revenue
from conversions
cross join models
left join totals
    on conversions.conversion_key = totals.conversion_key
    and models.attribution_model = totals.attribution_model
where totals.conversion_key is null
    or abs(totals.credit - 1) > 1e-9
    or abs(totals.revenue - conversions.revenue) > 1e-6 * (1 + abs(conversions.revenue))
