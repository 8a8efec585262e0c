{#- Every attribution model side by side, per channel: the five heuristics of
    marts.mart_channel_attribution and the data-driven models of ml.channel_attribution
    (Markov chain removal effects of orders 1-3, Shapley values over channel sets), with the
    channel's spend, cost per attributed conversion and return on spend under each, and how
    far each model's share moves from last touch (the default of most ad platforms). -#}

with heuristic as (

    select * from {{ ref('mart_channel_attribution') }}

),

data_driven as (

    select * from {{ ref('stg_ml__channel_attribution') }}

),

channel_spend as (

    select distinct channel, spend, spend_currency
    from heuristic

),

models as (

    select
        channel,
        attribution_model,
        'heuristic' as model_family,
        attributed_conversions,
        attributed_revenue,
        share_of_conversions,
        share_of_revenue,
        cast(null as {{ dbt.type_float() }}) as removal_effect
    from heuristic

    union all

    select
        channel,
        attribution_model,
        'data_driven',
        attributed_conversions,
        attributed_revenue,
        share_of_conversions,
        share_of_revenue,
        removal_effect
    from data_driven

),

last_touch as (

    select channel, share_of_conversions as last_touch_share
    from heuristic
    where attribution_model = 'last_touch'

),

final as (

    select
        {{ journeymap.surrogate_key(['models.channel', 'models.attribution_model']) }} as attribution_key,
        models.channel,
        models.attribution_model,
        models.model_family,
        models.attributed_conversions,
        models.attributed_revenue,
        models.share_of_conversions,
        models.share_of_revenue,
        models.removal_effect,
        models.share_of_conversions - coalesce(last_touch.last_touch_share, 0)
            as share_change_from_last_touch,
        rank() over (
            partition by models.attribution_model order by models.attributed_conversions desc
        ) as rank_in_model,
        channel_spend.spend,
        channel_spend.spend_currency,
        {{ journeymap.spend_ratios(
            'channel_spend.spend', 'models.attributed_conversions', 'models.attributed_revenue'
        ) }}
    from models
    left join last_touch on models.channel = last_touch.channel
    left join channel_spend on models.channel = channel_spend.channel

)

select * from final
