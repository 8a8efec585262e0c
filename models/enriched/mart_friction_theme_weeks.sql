{#- The trend of each friction theme: texts and customers per week (weeks start on Monday, UTC). -#}

with themes as (

    select * from {{ ref('stg_ml__text_themes') }}

),

labelled_texts as (

    select * from {{ ref('fct_labelled_texts') }}

),

final as (

    select
        themes.theme_journey_stage as journey_stage,
        themes.theme_id,
        min(themes.theme_label) as theme_label,
        cast({{ dbt.date_trunc('week', 'labelled_texts.occurred_at') }} as date) as week_start,
        count(*) as texts,
        count(distinct labelled_texts.customer_key) as customers
    from themes
    inner join labelled_texts
        on themes.source = labelled_texts.source
        and themes.source_text_id = labelled_texts.source_text_id
    group by 1, 2, 4

)

select * from final
