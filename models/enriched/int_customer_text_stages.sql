{#- What each customer's texts say about them: how many they wrote, how they felt, and the
    furthest journey stage a text of theirs shows with at least the confidence of var
    text_stage_min_confidence (default 0.6). dim_customer_360 advances a customer's stage
    to it: someone only seen at awareness who asks how two plans compare is considering. -#}

with labelled_texts as (

    select * from {{ ref('fct_labelled_texts') }}
    where text_journey_stage is not null

),

ordered as (

    select
        *,
        row_number() over (
            partition by customer_key order by occurred_at desc, source_text_id desc
        ) as recency_rank
    from labelled_texts

),

confident_stages as (

    select customer_key, max(text_stage_order) as furthest_text_stage_order
    from labelled_texts
    where text_journey_stage_confidence >= {{ var('text_stage_min_confidence', 0.6) }}
    group by 1

),

summary as (

    select
        customer_key,
        count(*) as texts_written,
        sum(case when polarity = 'negative' then 1 else 0 end) as negative_texts,
        avg(sentiment) as mean_text_sentiment,
        max(case when recency_rank = 1 then intent end) as last_text_intent,
        max(case when recency_rank = 1 then emotion end) as last_text_emotion,
        max(occurred_at) as last_text_at
    from ordered
    group by 1

),

final as (

    select
        summary.customer_key,
        summary.texts_written,
        summary.negative_texts,
        summary.mean_text_sentiment,
        summary.last_text_intent,
        summary.last_text_emotion,
        summary.last_text_at,
        journey_stages.journey_stage as furthest_text_stage,
        confident_stages.furthest_text_stage_order
    from summary
    left join confident_stages on summary.customer_key = confident_stages.customer_key
    left join {{ ref('journey_stages') }} as journey_stages
        on confident_stages.furthest_text_stage_order = journey_stages.stage_order

)

select * from final
