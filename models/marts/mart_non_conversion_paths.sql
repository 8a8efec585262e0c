{#- One row per journey that ended without a conversion (int_attribution_journey_touches: a run
    of touches with no gap over var attribution_lookback_days and no conversion within that
    many days after its last touch), with its path raw and transformed, as
    mart_conversion_paths has them. Journeys whose last touch is less than the lookback before
    the newest event may still convert (may_still_convert). -#}

with journey_touches as (

    select * from {{ ref('int_attribution_journey_touches') }}
    where conversion_key is null

),

path_touches as (

    select * from {{ ref('int_attribution_path_touches') }}
    where conversion_key is null

),

data_end as (

    select max(occurred_at) as newest_event_at
    from {{ ref('int_events_sessionized') }}

),

raw_paths as (

    select
        journey_key,
        max(customer_key) as customer_key,
        {{ journeymap.path_strings('_raw') }},
        count(*) as touches_raw,
        min(touched_at) as first_touched_at,
        max(touched_at) as last_touched_at
    from journey_touches
    group by journey_key

),

transformed_paths as (

    select
        journey_key,
        {{ journeymap.path_strings() }},
        count(*) as touches
    from path_touches
    group by journey_key

),

final as (

    select
        raw_paths.journey_key,
        raw_paths.customer_key,
        raw_paths.first_touched_at,
        raw_paths.last_touched_at,
        raw_paths.channel_path_raw,
        raw_paths.campaign_path_raw,
        raw_paths.touches_raw,
        transformed_paths.channel_path,
        transformed_paths.campaign_path,
        transformed_paths.touches,
        {{ journeymap.hours_between('raw_paths.first_touched_at', 'raw_paths.last_touched_at') }} / 24.0
            as days_from_first_touch,
        raw_paths.last_touched_at > {{ dbt.dateadd(
            'day', -(var('attribution_lookback_days') | int), 'data_end.newest_event_at'
        ) }} as may_still_convert
    from raw_paths
    inner join transformed_paths on raw_paths.journey_key = transformed_paths.journey_key
    cross join data_end

)

select * from final
