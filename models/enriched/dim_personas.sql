{#- The persona cards of the latest segmentation run, one row per segment, for BI and the
    journey map page: size, what sets the segment apart, typical path, channels, churn risk,
    value and the narrative. -#}

with cards as (

    select * from {{ ref('stg_ml__persona_cards') }}

),

final as (

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
        card_json,
        model_version,
        scored_at
    from cards

)

select * from final
