{#- One row per customer key: known customers (CRM) and people only seen anonymously. Their
    identity and profile, first and last touch, engagement, orders and revenue, time to first
    order, where they are in the journey, and their churn risk (from the ML churn asset). -#}

with contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

subscriptions as (

    select * from {{ ref('stg_commerce__subscriptions') }}

),

sessions as (

    select * from {{ ref('fct_sessions') }}

),

stage_transitions as (

    select * from {{ ref('fct_stage_transitions') }}

),

churn_scores as (

    select * from {{ ref('stg_ml__churn_scores') }}

),

latest_contacts as (

    select *
    from (
        select
            *,
            row_number() over (partition by customer_id order by updated_at desc, loaded_at desc)
                as version_rank
        from contacts
    ) as ranked
    where version_rank = 1

),

-- Touches are what the customer did or saw; the system's own sends are not a touch. Each
-- touch's position from the first and the touch count find first and last touch in the same
-- pass as the other per-customer figures (one window sort, no self-joins).
positioned_events as (

    select
        customer_key,
        source,
        canonical_event,
        channel,
        touchpoint,
        occurred_at,
        anonymous_id,
        is_conversion,
        revenue,
        canonical_event not in ('email_sent', 'email_delivered') as is_touch,
        row_number() over (
            partition by customer_key, canonical_event not in ('email_sent', 'email_delivered')
            order by occurred_at, event_key
        ) as touch_position,
        count(*) over (
            partition by customer_key, canonical_event not in ('email_sent', 'email_delivered')
        ) as touch_count
    from {{ ref('fct_events') }}

),

event_summary as (

    select
        customer_key,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at,
        count(*) as events,
        count(distinct anonymous_id) as devices,
        sum(case when is_conversion then 1 else 0 end) as orders,
        coalesce(sum(case when is_conversion then revenue end), 0) as revenue,
        min(case when is_conversion then occurred_at end) as first_order_at,
        max(case when is_conversion then occurred_at end) as last_order_at,
        sum(case when source = 'support_messages' then 1 else 0 end) as support_messages,
        sum(case when canonical_event = 'email_opened' then 1 else 0 end) as email_opens,
        sum(case when canonical_event = 'email_clicked' then 1 else 0 end) as email_clicks,
        max(case when is_touch and touch_position = 1 then channel end) as first_touch_channel,
        max(case when is_touch and touch_position = 1 then touchpoint end)
            as first_touch_touchpoint,
        max(case when is_touch and touch_position = touch_count then channel end)
            as last_touch_channel,
        max(case when is_touch and touch_position = touch_count then touchpoint end)
            as last_touch_touchpoint
    from positioned_events
    group by customer_key

),

session_summary as (

    select
        customer_key,
        count(*) as sessions,
        max(case when session_position = 1 then acquisition_channel end)
            as first_acquisition_channel
    from (
        select
            customer_key,
            acquisition_channel,
            row_number() over (partition by customer_key order by started_at, session_key)
                as session_position
        from sessions
    ) as positioned_sessions
    group by customer_key

),

subscription_summary as (

    select
        customer_id,
        min(started_at) as first_subscribed_at,
        max(cancelled_at) as last_cancelled_at,
        count(distinct subscription_id) as subscriptions,
        count(distinct case when cancelled_at is not null then subscription_id end)
            as cancelled_subscriptions
    from subscriptions
    group by customer_id

),

journey_position as (

    select
        customer_key,
        max(case when is_furthest_stage then journey_stage end) as current_stage,
        max(stage_order) as current_stage_order
    from stage_transitions
    group by customer_key

),

all_customers as (

    select customer_key from event_summary
    union
    select customer_id from latest_contacts

),

final as (

    select
        all_customers.customer_key,
        latest_contacts.customer_id,
        latest_contacts.customer_id is not null as is_known,
        latest_contacts.email,
        latest_contacts.region,
        latest_contacts.plan,
        latest_contacts.lifecycle_stage as crm_lifecycle_stage,
        coalesce(latest_contacts.has_email_consent, false) as has_email_consent,
        coalesce(latest_contacts.has_sms_consent, false) as has_sms_consent,
        latest_contacts.created_at as crm_created_at,
        event_summary.first_seen_at,
        event_summary.last_seen_at,
        event_summary.first_touch_channel,
        event_summary.first_touch_touchpoint,
        session_summary.first_acquisition_channel,
        event_summary.last_touch_channel,
        event_summary.last_touch_touchpoint,
        coalesce(event_summary.events, 0) as events,
        coalesce(session_summary.sessions, 0) as sessions,
        coalesce(event_summary.devices, 0) as devices,
        coalesce(event_summary.orders, 0) as orders,
        coalesce(event_summary.revenue, 0) as revenue,
        event_summary.first_order_at,
        event_summary.last_order_at,
        {{ journeymap.hours_between('event_summary.first_seen_at', 'event_summary.first_order_at') }}
            as hours_to_first_order,
        coalesce(event_summary.support_messages, 0) as support_messages,
        coalesce(event_summary.email_opens, 0) as email_opens,
        coalesce(event_summary.email_clicks, 0) as email_clicks,
        coalesce(subscription_summary.subscriptions, 0) as subscriptions,
        subscription_summary.first_subscribed_at,
        coalesce(subscription_summary.cancelled_subscriptions, 0) as cancelled_subscriptions,
        subscription_summary.last_cancelled_at,
        coalesce(subscription_summary.subscriptions, 0) > 0
            and coalesce(subscription_summary.cancelled_subscriptions, 0)
                = coalesce(subscription_summary.subscriptions, 0) as has_churned,
        journey_position.current_stage,
        journey_position.current_stage_order,
        churn_scores.churn_score,
        churn_scores.churn_risk_band,
        churn_scores.churn_reason_1,
        churn_scores.churn_reason_2,
        churn_scores.churn_reason_3,
        churn_scores.churn_model_version,
        churn_scores.churn_scored_at
    from all_customers
    left join latest_contacts on all_customers.customer_key = latest_contacts.customer_id
    left join event_summary on all_customers.customer_key = event_summary.customer_key
    left join session_summary on all_customers.customer_key = session_summary.customer_key
    left join subscription_summary on all_customers.customer_key = subscription_summary.customer_id
    left join journey_position on all_customers.customer_key = journey_position.customer_key
    left join churn_scores on all_customers.customer_key = churn_scores.customer_key

)

select * from final
