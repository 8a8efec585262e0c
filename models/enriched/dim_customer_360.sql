{#- The customer table BI and the journey map page read: every column of marts.dim_customers
    and what the Python models know about each customer (churn risk and its reasons, segment
    and persona, lifetime value; what their texts say, and the stage with texts: current_stage
    advanced to the furthest stage a confident text shows). One row per customer key;
    customers a model did not score have nulls in its columns. -#}

with customers as (

    select * from {{ ref('dim_customers') }}

),

churn_scores as (

    select * from {{ ref('stg_ml__churn_scores') }}

),

segments as (

    select * from {{ ref('stg_ml__customer_segments') }}

),

customer_value as (

    select * from {{ ref('stg_ml__customer_value') }}

),

text_stages as (

    select * from {{ ref('int_customer_text_stages') }}

),

journey_stages as (

    select * from {{ ref('journey_stages') }}

),

final as (

    select
        customers.customer_key,
        customers.customer_id,
        customers.is_known,
        customers.email,
        customers.region,
        customers.plan,
        customers.crm_lifecycle_stage,
        customers.has_email_consent,
        customers.has_sms_consent,
        customers.crm_created_at,
        customers.first_seen_at,
        customers.last_seen_at,
        customers.first_touch_channel,
        customers.first_touch_touchpoint,
        customers.first_acquisition_channel,
        customers.last_touch_channel,
        customers.last_touch_touchpoint,
        customers.events,
        customers.sessions,
        customers.devices,
        customers.orders,
        customers.revenue,
        customers.first_order_at,
        customers.last_order_at,
        customers.hours_to_first_order,
        customers.support_messages,
        customers.email_opens,
        customers.email_clicks,
        customers.subscriptions,
        customers.first_subscribed_at,
        customers.cancelled_subscriptions,
        customers.last_cancelled_at,
        customers.has_churned,
        customers.current_stage,
        customers.current_stage_order,
        churn_scores.churn_score,
        churn_scores.churn_risk_band,
        churn_scores.churn_reason_1,
        churn_scores.churn_reason_2,
        churn_scores.churn_reason_3,
        churn_scores.churn_model_version,
        churn_scores.churn_scored_at,
        segments.segment_id,
        segments.persona_name,
        segments.segment_membership_probability,
        segments.segmented_at,
        customer_value.probability_alive,
        customer_value.predicted_purchases,
        customer_value.predicted_order_value,
        customer_value.predicted_value,
        customer_value.value_horizon_days,
        customer_value.value_scored_at,
        coalesce(text_stages.texts_written, 0) as texts_written,
        coalesce(text_stages.negative_texts, 0) as negative_texts,
        text_stages.mean_text_sentiment,
        text_stages.last_text_intent,
        text_stages.last_text_emotion,
        text_stages.furthest_text_stage,
        coalesce(advanced_stage.journey_stage, customers.current_stage) as stage_with_texts,
        coalesce(advanced_stage.stage_order, customers.current_stage_order)
            as stage_with_texts_order,
        advanced_stage.journey_stage is not null as is_stage_advanced_by_text
    from customers
    left join churn_scores on customers.customer_key = churn_scores.customer_key
    left join segments on customers.customer_key = segments.customer_key
    left join customer_value on customers.customer_key = customer_value.customer_key
    left join text_stages on customers.customer_key = text_stages.customer_key
    -- A text advances the stage, never moves it back.
    left join journey_stages as advanced_stage
        on text_stages.furthest_text_stage_order = advanced_stage.stage_order
        and text_stages.furthest_text_stage_order > coalesce(customers.current_stage_order, 0)

)

select * from final
