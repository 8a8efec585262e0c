{#- The persona cards of the latest segmentation run (ml.persona_cards), one row per segment. -#}
with source as (

    select * from {{ journeymap.ml_output('persona_cards') }} as persona_cards

),

renamed as (

    select
        segment_id,
        persona_name,
        customers,
        share,
        difference_1,
        difference_2,
        difference_3,
        difference_4,
        typical_path,
        typical_path_share,
        main_channels,
        support_topics,
        top_intents,
        top_emotions,
        churn_scored_customers,
        mean_churn_score,
        high_churn_risk_share,
        valued_customers,
        mean_predicted_value,
        mean_probability_alive,
        narrative,
        narrative_source,
        narrative_rejected,
        card_json,
        model_version,
        cutoff_at,
        scored_at

    from source

)

select * from renamed
