{#- Every interaction of every source as one stream of raw events, each mapped to the
    canonical taxonomy. Raw names with no taxonomy match flow on as `unmapped`. -#}
{{ config(materialized='view') }}

with web_events as (

    select * from {{ ref('stg_tracking__web_events') }}

),

app_events as (

    select * from {{ ref('stg_tracking__app_events') }}

),

email_events as (

    select * from {{ ref('stg_esp__email_events') }}

),

orders as (

    select * from {{ ref('stg_commerce__orders') }}

),

subscriptions as (

    select * from {{ ref('stg_commerce__subscriptions') }}

),

support_messages as (

    select * from {{ ref('stg_support__messages') }}

),

reviews as (

    select * from {{ ref('stg_reviews__reviews') }}

),

taxonomy as (

    select * from {{ ref('event_taxonomy') }}

),

tracked_events as (

    select
        'web_events' as source,
        event_id as source_event_id,
        occurred_at,
        loaded_at,
        event_name as raw_event_name,
        anonymous_id,
        user_id as customer_id,
        cast(null as {{ dbt.type_string() }}) as email,
        platform,
        device_type,
        page_url,
        referrer,
        utm_source,
        utm_medium,
        utm_campaign,
        cast(null as {{ dbt.type_float() }}) as revenue,
        cast(null as {{ dbt.type_string() }}) as context_id
    from web_events

    union all

    select
        'app_events',
        event_id,
        occurred_at,
        loaded_at,
        event_name,
        anonymous_id,
        user_id,
        null,
        platform,
        device_type,
        page_url,
        referrer,
        utm_source,
        utm_medium,
        utm_campaign,
        null,
        null
    from app_events

),

-- Non-clickstream sources: no device, no page, no campaign tags.
business_events as (

    select
        'email_events' as source,
        email_event_id as source_event_id,
        occurred_at,
        loaded_at,
        event_type as raw_event_name,
        customer_id,
        email,
        cast(null as {{ dbt.type_float() }}) as revenue,
        campaign_id as context_id
    from email_events

    union all

    select
        'orders',
        order_id,
        ordered_at,
        loaded_at,
        'order_' || order_status,
        customer_id,
        null,
        case when order_status = 'completed' then amount end,
        order_id
    from orders

    -- A subscription lands as versions; its start and its cancellation are the events.
    union all

    select
        'subscriptions',
        subscription_id || ':started',
        min(started_at),
        min(loaded_at),
        'subscription_started',
        min(customer_id),
        null,
        null,
        subscription_id
    from subscriptions
    group by subscription_id

    union all

    select
        'subscriptions',
        subscription_id || ':cancelled',
        min(cancelled_at),
        min(loaded_at),
        'subscription_cancelled',
        min(customer_id),
        null,
        null,
        subscription_id
    from subscriptions
    where cancelled_at is not null
    group by subscription_id

    -- Agent replies are not customer interactions; the customer's messages are.
    union all

    select
        'support_messages',
        message_id,
        sent_at,
        loaded_at,
        'support_' || support_channel,
        customer_id,
        email,
        null,
        ticket_id
    from support_messages
    where author_type = 'customer'

    union all

    select
        'reviews',
        review_id,
        submitted_at,
        loaded_at,
        review_type,
        customer_id,
        email,
        null,
        review_id
    from reviews

),

all_events as (

    select * from tracked_events

    union all

    select
        source,
        source_event_id,
        occurred_at,
        loaded_at,
        raw_event_name,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        customer_id,
        email,
        cast(null as {{ dbt.type_string() }}) as platform,
        cast(null as {{ dbt.type_string() }}) as device_type,
        cast(null as {{ dbt.type_string() }}) as page_url,
        cast(null as {{ dbt.type_string() }}) as referrer,
        cast(null as {{ dbt.type_string() }}) as utm_source,
        cast(null as {{ dbt.type_string() }}) as utm_medium,
        cast(null as {{ dbt.type_string() }}) as utm_campaign,
        revenue,
        context_id
    from business_events

),

-- Match the few distinct raw names once, not every event: the LIKE join stays tiny.
raw_event_names as (

    select distinct source, raw_event_name from all_events

),

name_matches as (

    select
        raw_event_names.source,
        raw_event_names.raw_event_name,
        taxonomy.canonical_event,
        taxonomy.channel,
        taxonomy.touchpoint,
        taxonomy.journey_stage,
        taxonomy.is_conversion,
        row_number() over (
            partition by raw_event_names.source, raw_event_names.raw_event_name
            order by taxonomy.priority desc, taxonomy.event_name_pattern
        ) as match_rank
    from raw_event_names
    inner join taxonomy
        on raw_event_names.source = taxonomy.source
        and raw_event_names.raw_event_name like taxonomy.event_name_pattern

),

best_matches as (

    select * from name_matches where match_rank = 1

),

final as (

    select
        {{ journeymap.surrogate_key(['all_events.source', 'all_events.source_event_id']) }} as event_key,
        all_events.source,
        all_events.source_event_id,
        all_events.occurred_at,
        all_events.loaded_at,
        all_events.raw_event_name,
        coalesce(best_matches.canonical_event, 'unmapped') as canonical_event,
        coalesce(best_matches.channel, all_events.platform, 'unknown') as channel,
        coalesce(best_matches.touchpoint, 'unmapped') as touchpoint,
        coalesce(best_matches.journey_stage, 'unmapped') as journey_stage,
        coalesce(best_matches.is_conversion, false) as is_conversion,
        all_events.anonymous_id,
        all_events.customer_id,
        all_events.email,
        all_events.platform,
        all_events.device_type,
        all_events.page_url,
        all_events.referrer,
        all_events.utm_source,
        all_events.utm_medium,
        all_events.utm_campaign,
        all_events.revenue,
        all_events.context_id
    from all_events
    left join best_matches
        on all_events.source = best_matches.source
        and all_events.raw_event_name = best_matches.raw_event_name

)

select * from final
