{#- What happened to each customer given (or held out of) an action, over the
    action_outcome_window_days (default 30) after the assignment: reached a later stage than
    the one they were in, cancelled a subscription, revenue. Matured once the data reaches the
    end of the window; before that the outcome is still open. -#}

with assignments as (

    select * from {{ ref('stg_ml__action_assignments') }}
    where action is not null

),

stages as (

    select journey_stage, stage_order from {{ ref('journey_stages') }}

),

transitions as (

    select customer_key, stage_order, first_reached_at from {{ ref('fct_stage_transitions') }}

),

subscriptions as (

    select customer_key, cancelled_at from {{ ref('fct_subscription_versions') }}
    where is_latest_version and cancelled_at is not null

),

conversions as (

    select customer_key, occurred_at, revenue from {{ ref('fct_events') }}
    where is_conversion

),

data_end as (

    select max(occurred_at) as data_end_at from {{ ref('fct_events') }}

),

windows as (

    select
        assignments.experiment,
        assignments.customer_key,
        assignments.action,
        assignments.action_goal,
        assignments.is_holdout,
        assignments.assigned_at,
        coalesce(stages.stage_order, 0) as stage_order_at_assignment,
        {{ dbt.dateadd('day', var('action_outcome_window_days', 30), 'assignments.assigned_at') }}
            as window_end_at,
        data_end.data_end_at
    from assignments
    left join stages on assignments.stage_at_assignment = stages.journey_stage
    cross join data_end

),

reached as (

    select windows.experiment, windows.customer_key
    from windows
    inner join transitions
        on windows.customer_key = transitions.customer_key
        and transitions.stage_order > windows.stage_order_at_assignment
        and transitions.first_reached_at > windows.assigned_at
        and transitions.first_reached_at <= windows.window_end_at
    group by 1, 2

),

churned as (

    select windows.experiment, windows.customer_key
    from windows
    inner join subscriptions
        on windows.customer_key = subscriptions.customer_key
        and subscriptions.cancelled_at > windows.assigned_at
        and subscriptions.cancelled_at <= windows.window_end_at
    group by 1, 2

),

revenue as (

    select windows.experiment, windows.customer_key, sum(conversions.revenue) as revenue
    from windows
    inner join conversions
        on windows.customer_key = conversions.customer_key
        and conversions.occurred_at > windows.assigned_at
        and conversions.occurred_at <= windows.window_end_at
    group by 1, 2

),

final as (

    select
        windows.experiment,
        windows.customer_key,
        windows.action,
        windows.action_goal,
        windows.is_holdout,
        windows.assigned_at,
        windows.window_end_at,
        windows.window_end_at <= windows.data_end_at as is_matured,
        reached.customer_key is not null as reached_next_stage,
        churned.customer_key is not null as churned,
        coalesce(revenue.revenue, 0) as revenue
    from windows
    left join reached
        on windows.experiment = reached.experiment
        and windows.customer_key = reached.customer_key
    left join churned
        on windows.experiment = churned.experiment
        and windows.customer_key = churned.customer_key
    left join revenue
        on windows.experiment = revenue.experiment
        and windows.customer_key = revenue.customer_key

)

select * from final
