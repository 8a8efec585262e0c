{#- The data-driven attribution (ml.channel_attribution), one row per model and channel, named
    as the heuristic attribution marts name theirs. -#}
with source as (

    select * from {{ journeymap.ml_output('channel_attribution') }} as channel_attribution

),

renamed as (

    select
        model as attribution_model,
        channel,
        conversions as attributed_conversions,
        revenue as attributed_revenue,
        share as share_of_conversions,
        revenue_share as share_of_revenue,
        removal_effect,
        value_removal_effect,
        model_version as attribution_model_version,
        computed_at as attribution_computed_at

    from source

)

select * from renamed
