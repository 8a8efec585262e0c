{#- Every marketing touch in its journey. A customer's journey is a run of touches with no gap
    longer than var attribution_lookback_days (L), cut after each conversion; it ends either
    in the conversion that follows its last touch within L days (a path to conversion: the
    journey's touches within L days before the conversion) or without one (a path to
    non-conversion: all its touches). Touches at the same instant as a conversion count for
    it. Touches of a converting journey older than L days before its conversion belong to no
    path (is_in_path false); a conversion with no touch within L days has an empty path.

    A table, rebuilt in full (a changed lookback never leaves it stale). -#}

{%- set lookback_days = var('attribution_lookback_days') | int %}
{%- if lookback_days < 1 %}
    {{ exceptions.raise_compiler_error('var attribution_lookback_days must be at least 1, not ' ~ lookback_days) }}
{%- endif %}

with touches as (

    select * from {{ ref('int_marketing_touches') }}

),

conversions as (

    select * from {{ ref('int_attribution_conversions') }}

),

-- Touches and conversions on one line per customer; at the same instant the touch comes first.
-- Keys only: the windows sort narrow rows, the touches' other columns join back at the end.
timeline as (

    select customer_key, touched_at as occurred_at, 0 as is_conversion, touch_key as item_key
    from touches

    union all

    select customer_key, converted_at, 1, conversion_key
    from conversions

),

neighbours as (

    select
        *,
        lag(occurred_at) over (partition by customer_key order by occurred_at, is_conversion, item_key) as previous_at,
        lag(is_conversion) over (partition by customer_key order by occurred_at, is_conversion, item_key)
            as previous_is_conversion,
        lead(occurred_at) over (partition by customer_key order by occurred_at, is_conversion, item_key) as next_at,
        lead(is_conversion) over (partition by customer_key order by occurred_at, is_conversion, item_key)
            as next_is_conversion,
        lead(item_key) over (partition by customer_key order by occurred_at, is_conversion, item_key) as next_key
    from timeline

),

-- A touch starts a journey after a conversion, after a gap of more than L days, or first.
journey_starts as (

    select
        *,
        case
            when previous_at is null or previous_is_conversion = 1 then 1
            when occurred_at > {{ dbt.dateadd('day', lookback_days, 'previous_at') }} then 1
            else 0
        end as starts_journey
    from neighbours
    where is_conversion = 0

),

numbered as (

    select
        *,
        sum(starts_journey) over (
            partition by customer_key order by occurred_at, item_key
            rows between unbounded preceding and current row
        ) as journey_number
    from journey_starts

),

-- Only a journey's last touch can be followed by a conversion (conversions cut journeys).
journey_ends as (

    select
        customer_key,
        journey_number,
        max(case when next_is_conversion = 1 then next_key end) as next_conversion_key,
        max(case when next_is_conversion = 1 then next_at end) as next_converted_at,
        max(occurred_at) as last_touched_at
    from numbered
    group by customer_key, journey_number

),

journeys as (

    select
        customer_key,
        journey_number,
        case
            when next_converted_at <= {{ dbt.dateadd('day', lookback_days, 'last_touched_at') }}
                then next_conversion_key
        end as conversion_key,
        case
            when next_converted_at <= {{ dbt.dateadd('day', lookback_days, 'last_touched_at') }}
                then next_converted_at
        end as converted_at
    from journey_ends

),

final as (

    select
        numbered.item_key as touch_key,
        numbered.customer_key,
        numbered.occurred_at as touched_at,
        touches.touch_type,
        touches.channel,
        touches.campaign,
        {{ journeymap.surrogate_key(['numbered.customer_key', 'numbered.journey_number']) }} as journey_key,
        numbered.journey_number,
        journeys.conversion_key,
        journeys.converted_at,
        journeys.conversion_key is null
            or numbered.occurred_at >= {{ dbt.dateadd('day', -lookback_days, 'journeys.converted_at') }}
            as is_in_path
    from numbered
    inner join journeys
        on numbered.customer_key = journeys.customer_key
        and numbered.journey_number = journeys.journey_number
    inner join touches on numbered.item_key = touches.touch_key

)

select * from final
