{#- The text model's labels (ml.text_labels), one row per customer text, named for the marts
    they join: the stage a text shows is text_journey_stage (journey_stage in the marts is
    the stage of the text's event in the taxonomy). -#}
with source as (

    select * from {{ journeymap.ml_output('text_labels') }} as text_labels

),

renamed as (

    select
        source,
        source_text_id,
        text_key,
        customer_key,
        occurred_at,
        intent,
        intent_confidence,
        journey_stage as text_journey_stage,
        journey_stage_confidence as text_journey_stage_confidence,
        sentiment,
        polarity,
        sentiment_confidence,
        emotion,
        emotion_confidence,
        backend as label_backend,
        model_version as label_model_version,
        is_fallback as is_label_fallback,
        fallback_reason as label_fallback_reason,
        labelled_at

    from source

)

select * from renamed
