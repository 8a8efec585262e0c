{#- Every interaction of every source as one stream of raw events, in one shape: web, app,
    email, orders, subscription starts and cancellations, customer support messages, reviews,
    and the events of the sources the project declares. Not yet mapped to the taxonomy
    (int_events_mapped does that). `event_order` is an event's place in its source (its file
    row or export order), which orders events at the same instant; `source_channel` is the
    channel a project source declares, for its events the taxonomy does not map. -#}
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

project_events as (

    select * from {{ ref('stg_project__events') }}

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
        cast(null as {{ dbt.type_string() }}) as context_id,
        event_order,
        cast(null as {{ dbt.type_string() }}) as source_channel
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
        null,
        event_order,
        null
    from app_events

    union all

    select
        source,
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
        null,
        event_order,
        source_channel
    from project_events

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
        context_id,
        cast(null as {{ dbt.type_bigint() }}) as event_order,
        cast(null as {{ dbt.type_string() }}) as source_channel
    from business_events

)

select * from all_events
