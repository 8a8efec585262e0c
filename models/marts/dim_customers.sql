{#- One row per customer key: known customers (CRM) and people only seen anonymously. Their
    identity and profile, first and last touch, engagement, orders and revenue, time to first
    order and where they are in the journey. No ML output: scores (churn risk, ...) join this
    table in the enriched layer (enriched.dim_customer_360). The per-customer event figures
    come from int_customer_activity (kept up to date per customer), so this table joins small
    per-customer tables only. -#}

with activity as (

    select * from {{ ref('int_customer_activity') }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

subscriptions as (

    select * from {{ ref('stg_commerce__subscriptions') }}

),

stage_transitions as (

    select * from {{ ref('int_customer_stage_transitions') }}

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

    select customer_key from activity
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
        coalesce(latest_contacts.has_analytics_consent, true) as has_analytics_consent,
        latest_contacts.created_at as crm_created_at,
        activity.first_seen_at,
        activity.last_seen_at,
        activity.first_touch_channel,
        activity.first_touch_touchpoint,
        activity.first_acquisition_channel,
        activity.last_touch_channel,
        activity.last_touch_touchpoint,
        coalesce(activity.events, 0) as events,
        coalesce(activity.sessions, 0) as sessions,
        coalesce(activity.devices, 0) as devices,
        coalesce(activity.orders, 0) as orders,
        coalesce(activity.revenue, 0) as revenue,
        activity.first_order_at,
        activity.last_order_at,
        {{ journeymap.hours_between('activity.first_seen_at', 'activity.first_order_at') }}
            as hours_to_first_order,
        coalesce(activity.support_messages, 0) as support_messages,
        coalesce(activity.email_opens, 0) as email_opens,
        coalesce(activity.email_clicks, 0) as email_clicks,
        coalesce(subscription_summary.subscriptions, 0) as subscriptions,
        subscription_summary.first_subscribed_at,
        coalesce(subscription_summary.cancelled_subscriptions, 0) as cancelled_subscriptions,
        subscription_summary.last_cancelled_at,
        coalesce(subscription_summary.subscriptions, 0) > 0
            and coalesce(subscription_summary.cancelled_subscriptions, 0)
                = coalesce(subscription_summary.subscriptions, 0) as has_churned,
        journey_position.current_stage,
        journey_position.current_stage_order
    from all_customers
    left join latest_contacts on all_customers.customer_key = latest_contacts.customer_id
    left join activity on all_customers.customer_key = activity.customer_key
    left join subscription_summary on all_customers.customer_key = subscription_summary.customer_id
    left join journey_position on all_customers.customer_key = journey_position.customer_key

)

select * from final
