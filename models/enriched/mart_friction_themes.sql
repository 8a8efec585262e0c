{#- Friction themes: what the negative texts of each journey stage are about (themes from
    ml.text_themes), how many customers raise each theme, whether it is rising, two masked
    example texts, and how customers fare after raising it against the other customers of the
    stage.

    Outcomes, per theme of stage S:
    * raised: customers who wrote a text of the theme; their reference time is their first
      such text. Others: the customers who reached S (fct_stage_transitions) and never
      raised the theme; their reference time is when they first reached S.
    * churn rate: among a group's customers with a subscription, the share who cancelled one
      after their reference time.
    * next-stage rate: the share active in the stage after S (its last_active_at) after
      their reference time (null for advocacy, the last stage).
    * trend: texts in the last 28 days of the data against the 28 days before: rising (at
      least 25% more), falling (at least 20% fewer) or steady. -#}

with themed_texts as (

    select
        labelled.customer_key,
        labelled.occurred_at,
        themes.theme_journey_stage as journey_stage,
        themes.theme_id,
        themes.theme_rank,
        themes.theme_label,
        themes.theme_terms,
        themes.theme_weight,
        themes.masked_text,
        themes.source_text_id
    from {{ ref('stg_ml__text_themes') }} as themes
    inner join {{ ref('fct_labelled_texts') }} as labelled
        on themes.source = labelled.source
        and themes.source_text_id = labelled.source_text_id

),

labelled_texts as (

    select * from {{ ref('fct_labelled_texts') }}

),

stage_transitions as (

    select * from {{ ref('fct_stage_transitions') }}

),

subscriptions as (

    select * from {{ ref('fct_subscription_versions') }}

),

journey_stages as (

    select * from {{ ref('journey_stages') }}

),

data_end as (

    select max(occurred_at) as latest_at from labelled_texts

),

stage_negative_texts as (

    select text_journey_stage as journey_stage, count(*) as negative_texts
    from labelled_texts
    where polarity = 'negative'
    group by 1

),

theme_sizes as (

    select
        themed_texts.journey_stage,
        themed_texts.theme_id,
        min(themed_texts.theme_rank) as theme_rank,
        min(themed_texts.theme_label) as theme_label,
        min(themed_texts.theme_terms) as theme_terms,
        count(*) as texts,
        count(distinct themed_texts.customer_key) as customers,
        min(themed_texts.occurred_at) as first_text_at,
        max(themed_texts.occurred_at) as last_text_at,
        sum(
            case when themed_texts.occurred_at > {{ dbt.dateadd('day', -28, 'data_end.latest_at') }}
            then 1 else 0 end
        ) as texts_last_28_days,
        sum(
            case when themed_texts.occurred_at <= {{ dbt.dateadd('day', -28, 'data_end.latest_at') }}
                and themed_texts.occurred_at > {{ dbt.dateadd('day', -56, 'data_end.latest_at') }}
            then 1 else 0 end
        ) as texts_previous_28_days
    from themed_texts
    cross join data_end
    group by 1, 2

),

ranked_examples as (

    select
        theme_id,
        masked_text,
        row_number() over (
            partition by theme_id order by theme_weight desc, source_text_id
        ) as example_number
    from themed_texts

),

examples as (

    select
        theme_id,
        max(case when example_number = 1 then masked_text end) as example_text_1,
        max(case when example_number = 2 then masked_text end) as example_text_2
    from ranked_examples
    where example_number <= 2
    group by 1

),

raised as (

    select journey_stage, theme_id, customer_key, min(occurred_at) as reference_at
    from themed_texts
    group by 1, 2, 3

),

reached as (

    select
        theme_sizes.theme_id,
        theme_sizes.journey_stage,
        stage_transitions.customer_key,
        stage_transitions.first_reached_at
    from theme_sizes
    inner join stage_transitions on theme_sizes.journey_stage = stage_transitions.journey_stage

),

-- Everyone who reached a theme's stage or raised the theme (a text can show a stage the
-- customer's events never reached).
population as (

    select theme_id, journey_stage, customer_key from reached
    union
    select theme_id, journey_stage, customer_key from raised

),

-- Each with their reference time: the first text of the theme for those who raised it, else
-- when they reached the stage.
compared as (

    select
        population.theme_id,
        population.journey_stage,
        population.customer_key,
        raised.customer_key is not null as raised_theme,
        coalesce(raised.reference_at, reached.first_reached_at) as reference_at
    from population
    left join raised
        on population.theme_id = raised.theme_id
        and population.customer_key = raised.customer_key
    left join reached
        on population.theme_id = reached.theme_id
        and population.customer_key = reached.customer_key

),

customer_outcomes as (

    select
        compared.theme_id,
        compared.raised_theme,
        compared.customer_key,
        max(case when subscriptions.subscription_id is not null then 1 else 0 end)
            as is_subscriber,
        max(case when subscriptions.cancelled_at > compared.reference_at then 1 else 0 end)
            as churned_after,
        max(case when next_stage.last_active_at > compared.reference_at then 1 else 0 end)
            as reached_next_stage_after,
        max(journey_stages.stage_order) as stage_order
    from compared
    inner join journey_stages on compared.journey_stage = journey_stages.journey_stage
    left join subscriptions on compared.customer_key = subscriptions.customer_key
    left join journey_stages as next_stages
        on next_stages.stage_order = journey_stages.stage_order + 1
    left join stage_transitions as next_stage
        on compared.customer_key = next_stage.customer_key
        and next_stage.journey_stage = next_stages.journey_stage
    group by 1, 2, 3

),

outcomes as (

    select
        theme_id,
        sum(case when raised_theme then is_subscriber else 0 end) as raised_subscribers,
        sum(case when raised_theme then churned_after else 0 end) as raised_churned,
        sum(case when raised_theme then reached_next_stage_after else 0 end)
            as raised_reached_next_stage,
        sum(case when not raised_theme then 1 else 0 end) as other_customers,
        sum(case when not raised_theme then is_subscriber else 0 end) as other_subscribers,
        sum(case when not raised_theme then churned_after else 0 end) as other_churned,
        sum(case when not raised_theme then reached_next_stage_after else 0 end)
            as other_reached_next_stage,
        max(stage_order) as stage_order
    from customer_outcomes
    group by 1

),

final as (

    select
        theme_sizes.journey_stage,
        outcomes.stage_order,
        theme_sizes.theme_id,
        theme_sizes.theme_rank,
        theme_sizes.theme_label,
        theme_sizes.theme_terms,
        theme_sizes.texts,
        theme_sizes.customers,
        theme_sizes.texts * 1.0 / nullif(stage_negative_texts.negative_texts, 0)
            as share_of_stage_negative_texts,
        theme_sizes.first_text_at,
        theme_sizes.last_text_at,
        theme_sizes.texts_last_28_days,
        theme_sizes.texts_previous_28_days,
        case
            when theme_sizes.texts_last_28_days >= 1.25 * theme_sizes.texts_previous_28_days
                and theme_sizes.texts_last_28_days > theme_sizes.texts_previous_28_days
                then 'rising'
            when theme_sizes.texts_last_28_days <= 0.8 * theme_sizes.texts_previous_28_days
                and theme_sizes.texts_last_28_days < theme_sizes.texts_previous_28_days
                then 'falling'
            else 'steady'
        end as trend,
        examples.example_text_1,
        examples.example_text_2,
        outcomes.raised_subscribers,
        outcomes.raised_churned * 1.0 / nullif(outcomes.raised_subscribers, 0)
            as churn_rate_raised,
        outcomes.other_churned * 1.0 / nullif(outcomes.other_subscribers, 0)
            as churn_rate_others,
        case when outcomes.stage_order < 5 then
            outcomes.raised_reached_next_stage * 1.0 / nullif(theme_sizes.customers, 0)
        end as next_stage_rate_raised,
        case when outcomes.stage_order < 5 then
            outcomes.other_reached_next_stage * 1.0 / nullif(outcomes.other_customers, 0)
        end as next_stage_rate_others,
        outcomes.other_customers
    from theme_sizes
    inner join outcomes on theme_sizes.theme_id = outcomes.theme_id
    left join examples on theme_sizes.theme_id = examples.theme_id
    left join stage_negative_texts on theme_sizes.journey_stage = stage_negative_texts.journey_stage

)

select * from final
