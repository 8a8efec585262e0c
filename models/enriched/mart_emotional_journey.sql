{#- How customers feel along the journey: per stage their texts show, touchpoint they wrote
    through and week (weeks start on Monday, UTC), the texts, their mean sentiment, the share
    that is negative and the mix of emotions. -#}

{%- set emotions = journeymap.text_emotions() %}

with labelled_texts as (

    select * from {{ ref('fct_labelled_texts') }}
    where text_journey_stage is not null

),

journey_stages as (

    select * from {{ ref('journey_stages') }}

),

weekly as (

    select
        text_journey_stage as journey_stage,
        touchpoint,
        channel,
        {{ dbt.date_trunc('week', 'occurred_at') }} as week_start,
        count(*) as texts,
        count(distinct customer_key) as customers,
        avg(sentiment) as mean_sentiment,
        sum(case when polarity = 'negative' then 1 else 0 end) as negative_texts,
        {%- for emotion in emotions %}
        sum(case when emotion = '{{ emotion }}' then 1 else 0 end) as {{ emotion }}_texts,
        {%- endfor %}
        sum(case when polarity = 'positive' then 1 else 0 end) as positive_texts
    from labelled_texts
    group by 1, 2, 3, 4

),

final as (

    select
        weekly.journey_stage,
        journey_stages.stage_order,
        weekly.touchpoint,
        weekly.channel,
        cast(weekly.week_start as date) as week_start,
        weekly.texts,
        weekly.customers,
        weekly.mean_sentiment,
        weekly.negative_texts,
        weekly.positive_texts,
        weekly.negative_texts * 1.0 / weekly.texts as share_negative,
        {%- for emotion in emotions %}
        weekly.{{ emotion }}_texts * 1.0 / weekly.texts as {{ emotion }}_share,
        {%- endfor %}
        case
            {%- for emotion in emotions %}
            when weekly.{{ emotion }}_texts = greatest(
                {%- for other in emotions %}weekly.{{ other }}_texts{{ ', ' if not loop.last }}{% endfor -%}
            ) then '{{ emotion }}'
            {%- endfor %}
        end as dominant_emotion
    from weekly
    inner join journey_stages on weekly.journey_stage = journey_stages.journey_stage

)

select * from final
