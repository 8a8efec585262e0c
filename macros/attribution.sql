{#- The heuristic attribution of fct_attribution_touches summed by `dimensions` (channel, or
    channel and campaign) and model, beside the paid media spend of the same dimensions
    (stg_marketing__spend): what mart_channel_attribution and mart_campaign_attribution hold.
    Every dimension value with credit or spend gets a row for every model; spend and
    conversions cover the whole history in the warehouse. -#}
{% macro attribution_summary(dimensions) -%}
{%- set dimension_list = dimensions | join(', ') -%}
{%- set same_attributed, same_spent, key_columns = [], [], [] -%}
{%- for dimension in dimensions -%}
    {%- do key_columns.append('grid.' ~ dimension) -%}
    {%- do same_attributed.append('grid.' ~ dimension ~ ' = attributed.' ~ dimension) -%}
    {%- do same_spent.append('grid.' ~ dimension ~ ' = spent.' ~ dimension) -%}
{%- endfor -%}
with credits as (

    select * from {{ ref('fct_attribution_touches') }}

),

spend as (

    select * from {{ ref('stg_marketing__spend') }}

),

model_totals as (

    select
        attribution_model,
        sum(credit) as conversions,
        sum(attributed_revenue) as revenue
    from credits
    group by attribution_model

),

attributed as (

    select
        {{ dimension_list }},
        attribution_model,
        sum(credit) as attributed_conversions,
        sum(attributed_revenue) as attributed_revenue,
        count(distinct conversion_key) as conversions_touched,
        count(touch_key) as touches
    from credits
    group by {{ dimension_list }}, attribution_model

),

spent as (

    select
        {{ dimension_list }},
        sum(spend) as spend,
        case when count(distinct currency) > 1 then 'mixed' else max(currency) end as spend_currency
    from spend
    group by {{ dimension_list }}

),

dimension_values as (

    select {{ dimension_list }} from attributed
    union
    select {{ dimension_list }} from spent

),

grid as (

    select dimension_values.*, model_totals.attribution_model
    from dimension_values
    cross join model_totals

),

final as (

    select
        {{ journeymap.surrogate_key(key_columns + ['grid.attribution_model']) }}
            as attribution_key,
        {%- for dimension in dimensions %}
        grid.{{ dimension }},
        {%- endfor %}
        grid.attribution_model,
        coalesce(attributed.attributed_conversions, 0) as attributed_conversions,
        coalesce(attributed.attributed_revenue, 0) as attributed_revenue,
        coalesce(
            {{ journeymap.safe_ratio('attributed.attributed_conversions', 'model_totals.conversions') }}, 0
        ) as share_of_conversions,
        coalesce(
            {{ journeymap.safe_ratio('attributed.attributed_revenue', 'model_totals.revenue') }}, 0
        ) as share_of_revenue,
        coalesce(attributed.conversions_touched, 0) as conversions_touched,
        coalesce(attributed.touches, 0) as touches,
        spent.spend,
        spent.spend_currency,
        {{ journeymap.spend_ratios(
            'spent.spend',
            'attributed.attributed_conversions',
            'coalesce(attributed.attributed_revenue, 0)',
        ) }}
    from grid
    inner join model_totals on grid.attribution_model = model_totals.attribution_model
    left join attributed
        on {{ same_attributed | join(' and ') }}
        and grid.attribution_model = attributed.attribution_model
    left join spent on {{ same_spent | join(' and ') }}

)

select * from final
{%- endmacro %}

{#- The ordered channel and campaign paths of a group of touches (rows with channel, campaign,
    touched_at and touch_key), each joined by ' > ': the path columns of the path marts. -#}
{% macro path_strings(suffix='') -%}
    {%- set path_order = 'order by touched_at, touch_key' -%}
    {{ dbt.listagg('channel', "' > '", path_order) }} as channel_path{{ suffix }},
        {{ dbt.listagg('campaign', "' > '", path_order) }} as campaign_path{{ suffix }}
{%- endmacro %}

{#- Cost per attributed conversion and return on spend (attributed revenue / spend), null
    without spend or conversions. -#}
{% macro spend_ratios(spend, conversions, revenue) -%}
    {{ journeymap.safe_ratio(spend, conversions) }} as cost_per_conversion,
        {{ journeymap.safe_ratio(revenue, spend) }} as return_on_spend
{%- endmacro %}
