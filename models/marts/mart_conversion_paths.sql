{#- One row per conversion with its path: the channels and campaigns of the touches within
    var attribution_lookback_days before it, in order, as they were (raw) and after the path
    transforms (int_attribution_path_touches: drop direct, collapse repeats, keep N). A
    conversion with no touch in the lookback has no path (touches 0). -#}

with conversions as (

    select * from {{ ref('int_attribution_conversions') }}

),

journey_touches as (

    select * from {{ ref('int_attribution_journey_touches') }}
    where conversion_key is not null

),

path_touches as (

    select * from {{ ref('int_attribution_path_touches') }}
    where conversion_key is not null

),

raw_paths as (

    select
        conversion_key,
        {{ journeymap.path_strings('_raw') }},
        count(*) as touches_raw,
        min(touched_at) as first_touched_at
    from journey_touches
    where is_in_path
    group by conversion_key

),

-- Touches of the same journey that came before the lookback: in no path.
earlier_touches as (

    select conversion_key, count(*) as touches_before_lookback
    from journey_touches
    where not is_in_path
    group by conversion_key

),

transformed_paths as (

    select
        conversion_key,
        {{ journeymap.path_strings() }},
        count(*) as touches
    from path_touches
    group by conversion_key

),

final as (

    select
        conversions.conversion_key,
        conversions.customer_key,
        conversions.converted_at,
        conversions.conversion_event,
        conversions.conversion_number,
        conversions.revenue,
        raw_paths.channel_path_raw,
        raw_paths.campaign_path_raw,
        coalesce(raw_paths.touches_raw, 0) as touches_raw,
        transformed_paths.channel_path,
        transformed_paths.campaign_path,
        coalesce(transformed_paths.touches, 0) as touches,
        raw_paths.first_touched_at,
        {{ journeymap.hours_between('raw_paths.first_touched_at', 'conversions.converted_at') }} / 24.0
            as days_from_first_touch,
        coalesce(earlier_touches.touches_before_lookback, 0) as touches_before_lookback
    from conversions
    left join raw_paths on conversions.conversion_key = raw_paths.conversion_key
    left join transformed_paths on conversions.conversion_key = transformed_paths.conversion_key
    left join earlier_touches on conversions.conversion_key = earlier_touches.conversion_key

)

select * from final
