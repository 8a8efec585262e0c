{#- Every text a customer wrote with what it says and how it feels: the core mart
    fct_customer_texts (without the text itself) and the text model's labels, plus the
    friction theme of negative texts. One row per text. -#}

with texts as (

    select * from {{ ref('fct_customer_texts') }}

),

text_labels as (

    select * from {{ ref('stg_ml__text_labels') }}

),

text_themes as (

    select * from {{ ref('stg_ml__text_themes') }}

),

journey_stages as (

    select * from {{ ref('journey_stages') }}

),

final as (

    select
        texts.text_key,
        texts.source,
        texts.source_text_id,
        texts.thread_id,
        texts.customer_key,
        texts.occurred_at,
        texts.channel,
        texts.touchpoint,
        texts.journey_stage,
        texts.text_type,
        texts.score,
        text_labels.intent,
        text_labels.intent_confidence,
        text_labels.text_journey_stage,
        journey_stages.stage_order as text_stage_order,
        text_labels.text_journey_stage_confidence,
        text_labels.sentiment,
        text_labels.polarity,
        text_labels.sentiment_confidence,
        text_labels.emotion,
        text_labels.emotion_confidence,
        text_themes.theme_id,
        text_themes.theme_label,
        text_labels.label_backend,
        text_labels.label_model_version,
        text_labels.is_label_fallback,
        text_labels.labelled_at
    from texts
    left join text_labels
        on texts.source = text_labels.source
        and texts.source_text_id = text_labels.source_text_id
    left join text_themes
        on texts.source = text_themes.source
        and texts.source_text_id = text_themes.source_text_id
    left join journey_stages
        on text_labels.text_journey_stage = journey_stages.journey_stage

)

select * from final
