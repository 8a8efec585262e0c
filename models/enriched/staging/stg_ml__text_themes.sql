{#- Friction themes (ml.text_themes): each negative text and the theme of its stage it joined. -#}
with source as (

    select * from {{ journeymap.ml_output('text_themes') }} as text_themes

),

renamed as (

    select
        source,
        source_text_id,
        journey_stage as theme_journey_stage,
        theme_id,
        theme_rank,
        theme_label,
        theme_terms,
        theme_weight,
        masked_text,
        model_version as theme_model_version,
        built_at as themes_built_at

    from source

)

select * from renamed
