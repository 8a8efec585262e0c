{#- Does acting help? Per experiment and action, over the assignments whose outcome window
    has passed: treated vs held-out outcome rates, the difference and its 95% interval (Wald
    for the rates, Welch for revenue per customer), sample sizes, and a plain-words verdict on
    the action's goal - "too early to tell" while the interval spans zero or an arm has fewer
    than 30 customers. The same estimator as journeymap.ml.actions.lift_table. -#}

{%- set z = 1.959963984540054 -%}
{%- set min_arm = 30 -%}

with outcomes as (

    select * from {{ ref('int_action_outcomes') }}

),

actions as (

    select experiment, action, max(action_goal) as goal, count(*) as assigned_customers,
        sum(case when is_matured then 0 else 1 end) as open_customers
    from outcomes
    group by 1, 2

),

arms as (

    select
        experiment,
        action,
        is_holdout,
        count(*) as customers,
        avg(case when reached_next_stage then 1.0 else 0.0 end) as reached_next_stage,
        avg(case when churned then 1.0 else 0.0 end) as churned,
        avg(revenue) as revenue,
        coalesce(var_samp(revenue), 0) as revenue_variance
    from outcomes
    where is_matured
    group by 1, 2, 3

),

paired as (

    select
        actions.experiment,
        actions.action,
        actions.goal,
        actions.assigned_customers,
        actions.open_customers,
        coalesce(treated.customers, 0) as treated_customers,
        coalesce(held.customers, 0) as holdout_customers,
        treated.reached_next_stage as treated_reached_next_stage,
        held.reached_next_stage as holdout_reached_next_stage,
        treated.churned as treated_churned,
        held.churned as holdout_churned,
        treated.revenue as treated_revenue,
        held.revenue as holdout_revenue,
        treated.revenue_variance as treated_revenue_variance,
        held.revenue_variance as holdout_revenue_variance
    from actions
    left join arms as treated
        on actions.experiment = treated.experiment
        and actions.action = treated.action
        and not treated.is_holdout
    left join arms as held
        on actions.experiment = held.experiment
        and actions.action = held.action
        and held.is_holdout

),

differences as (

    select
        *,
        treated_reached_next_stage - holdout_reached_next_stage as reached_next_stage_difference,
        {{ z }} * sqrt(
            treated_reached_next_stage * (1 - treated_reached_next_stage) / nullif(treated_customers, 0)
            + holdout_reached_next_stage * (1 - holdout_reached_next_stage) / nullif(holdout_customers, 0)
        ) as reached_next_stage_margin,
        treated_churned - holdout_churned as churned_difference,
        {{ z }} * sqrt(
            treated_churned * (1 - treated_churned) / nullif(treated_customers, 0)
            + holdout_churned * (1 - holdout_churned) / nullif(holdout_customers, 0)
        ) as churned_margin,
        treated_revenue - holdout_revenue as revenue_difference,
        {{ z }} * sqrt(
            treated_revenue_variance / nullif(treated_customers, 0)
            + holdout_revenue_variance / nullif(holdout_customers, 0)
        ) as revenue_margin
    from paired

),

intervals as (

    select
        *,
        reached_next_stage_difference - reached_next_stage_margin as reached_next_stage_ci_low,
        reached_next_stage_difference + reached_next_stage_margin as reached_next_stage_ci_high,
        churned_difference - churned_margin as churned_ci_low,
        churned_difference + churned_margin as churned_ci_high,
        revenue_difference - revenue_margin as revenue_ci_low,
        revenue_difference + revenue_margin as revenue_ci_high
    from differences

),

on_goal as (

    select
        *,
        case goal
            when 'churn' then churned_ci_low
            when 'revenue' then revenue_ci_low
            else reached_next_stage_ci_low
        end as goal_ci_low,
        case goal
            when 'churn' then churned_ci_high
            when 'revenue' then revenue_ci_high
            else reached_next_stage_ci_high
        end as goal_ci_high,
        case goal
            when 'churn' then 'churn'
            when 'revenue' then 'revenue'
            else 'next-stage rate'
        end as goal_words
    from intervals

),

final as (

    select
        experiment,
        action,
        goal,
        assigned_customers,
        open_customers,
        treated_customers,
        holdout_customers,
        treated_reached_next_stage,
        holdout_reached_next_stage,
        reached_next_stage_difference,
        reached_next_stage_ci_low,
        reached_next_stage_ci_high,
        treated_churned,
        holdout_churned,
        churned_difference,
        churned_ci_low,
        churned_ci_high,
        treated_revenue,
        holdout_revenue,
        revenue_difference,
        revenue_ci_low,
        revenue_ci_high,
        case
            when least(treated_customers, holdout_customers) < {{ min_arm }}
                or goal_ci_low is null
                then 'too early to tell: ' || cast(holdout_customers as {{ dbt.type_string() }})
                    || ' held out, ' || cast(treated_customers as {{ dbt.type_string() }})
                    || ' treated so far'
            when goal_ci_low <= 0 and goal_ci_high >= 0
                then 'too early to tell: the interval spans zero'
            when (goal = 'churn' and goal_ci_high < 0) or (goal != 'churn' and goal_ci_low > 0)
                then 'helps: ' || goal_words || case when goal_ci_high < 0
                    then ' lower' else ' higher' end || ' when treated'
            else 'hurts: ' || goal_words || case when goal_ci_high < 0
                then ' lower' else ' higher' end || ' when treated'
        end as verdict
    from on_goal

)

select * from final
