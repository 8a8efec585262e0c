{#- One row per conversion: every canonical event the taxonomy marks is_conversion (today an
    order placed), with its revenue and its number among the customer's conversions. The
    attribution models credit each one to the touches before it. -#}

with events as (

    select * from {{ ref('int_events_sessionized') }}

),

conversions as (

    select
        event_key as conversion_key,
        customer_key,
        occurred_at as converted_at,
        canonical_event as conversion_event,
        coalesce(revenue, 0) as revenue
    from events
    where is_conversion

),

final as (

    select
        conversion_key,
        customer_key,
        converted_at,
        conversion_event,
        revenue,
        row_number() over (
            partition by customer_key order by converted_at, conversion_key
        ) as conversion_number
    from conversions

)

select * from final
