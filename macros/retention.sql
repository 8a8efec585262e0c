{#- Retention cohorts and the customer lifecycle, written once and used by the core marts
    (broken down by acquisition channel and device) and the enriched ones (by segment).
    Both take the same two relations:

    customer_weeks: customer_key, activity_week (Monday), active_days, last_active_on, orders,
        revenue - one row per customer and week they were active (int_customer_weeks);
    customers: customer_key, signed_up_at and one column per breakdown - one row per customer.

    The calendar is the weeks in which anyone was active. `include_all` adds the breakdown
    'all' (every customer). -#}

{#- An event by the customer, not one that happened to them (var passive_events). -#}
{% macro is_customer_activity(relation_alias=none) -%}
    {{ journeymap.canonical_event_not_in(var('passive_events'), relation_alias) }}
{%- endmacro %}

{#- Every customer once per breakdown: (customer_key, breakdown, breakdown_value), with the
    breakdown 'all' for everyone. -#}
{% macro customer_breakdowns(customers, breakdowns, include_all=true) -%}
    {%- if include_all %}
    select customer_key, 'all' as breakdown, 'all' as breakdown_value
    from {{ customers }}
    {%- endif %}
    {%- for breakdown in breakdowns %}
    {% if include_all or not loop.first %}union all{% endif %}
    select
        customer_key,
        '{{ breakdown }}' as breakdown,
        coalesce(cast({{ breakdown }} as {{ dbt.type_string() }}), 'unknown') as breakdown_value
    from {{ customers }}
    {%- endfor %}
{%- endmacro %}

{#- Every customer with their sign-up and their current segment (as text; null when not
    segmented): the `customers` of the enriched retention and lifecycle by segment. -#}
{% macro segmented_customers(customers, segments) -%}
    (
        select
            customers.customer_key,
            customers.crm_created_at as signed_up_at,
            cast(segments.segment_id as {{ dbt.type_string() }}) as segment_id
        from {{ customers }} as customers
        left join {{ segments }} as segments
            on customers.customer_key = segments.customer_key
    ) as segmented_customers
{%- endmacro %}

{#- Whole weeks between two Mondays. -#}
{% macro weeks_between(start_week, end_week) -%}
    cast({{ dbt.datediff(start_week, end_week, 'day') }} / 7 as {{ dbt.type_int() }})
{%- endmacro %}

{#- Retention cohorts: customers grouped by the week of their first order, and by the week
    they signed up, followed week by week. Customers who signed up before the data's first
    week are left out of both kinds (their first order may predate the data); signup cohorts
    count every such customer, active or not. One row per cohort kind, cohort week, breakdown
    value and week since the cohort week, up to the data's last week (weeks with nobody of
    the cohort active are there, with zeros). -#}
{% macro retention_cohorts(customer_weeks, customers, breakdowns, include_all=true) -%}
with customer_weeks as (

    select customer_key, activity_week, last_active_on, orders, revenue
    from {{ customer_weeks }}

),

customers as (

    select * from {{ customers }}

),

calendar as (

    select distinct activity_week from customer_weeks

),

data_bounds as (

    select
        min(activity_week) as first_week,
        max(last_active_on) as last_active_on
    from customer_weeks

),

-- Customers known before the data began: their history in it is not their whole history.
established as (

    select customers.customer_key
    from customers
    cross join data_bounds
    where cast({{ dbt.date_trunc('week', 'customers.signed_up_at') }} as date)
        < data_bounds.first_week

),

first_orders as (

    select customer_key, min(activity_week) as cohort_week
    from customer_weeks
    where orders > 0
        and customer_key not in (select customer_key from established)
    group by customer_key

),

signups as (

    select
        customers.customer_key,
        cast({{ dbt.date_trunc('week', 'customers.signed_up_at') }} as date) as cohort_week
    from customers
    where customers.signed_up_at is not null
        and customers.customer_key not in (select customer_key from established)

),

cohort_members as (

    select 'first_order' as cohort_type, customer_key, cohort_week from first_orders
    union all
    select 'signup' as cohort_type, customer_key, cohort_week from signups

),

breakdowns as (

    {{ journeymap.customer_breakdowns('customers', breakdowns, include_all) }}

),

grouped_members as (

    select
        cohort_members.cohort_type,
        cohort_members.cohort_week,
        breakdowns.breakdown,
        breakdowns.breakdown_value,
        cohort_members.customer_key
    from cohort_members
    inner join breakdowns on cohort_members.customer_key = breakdowns.customer_key

),

cohort_sizes as (

    select
        cohort_type,
        cohort_week,
        breakdown,
        breakdown_value,
        count(*) as cohort_customers
    from grouped_members
    group by cohort_type, cohort_week, breakdown, breakdown_value

),

member_activity as (

    select
        grouped_members.cohort_type,
        grouped_members.cohort_week,
        grouped_members.breakdown,
        grouped_members.breakdown_value,
        customer_weeks.activity_week,
        count(*) as active_customers,
        sum(case when customer_weeks.orders > 0 then 1 else 0 end) as ordering_customers,
        sum(customer_weeks.orders) as orders,
        -- Money to the cent: a sum of doubles depends on the order a parallel engine adds them.
        round(sum(customer_weeks.revenue), 2) as revenue
    from grouped_members
    inner join customer_weeks
        on grouped_members.customer_key = customer_weeks.customer_key
        and customer_weeks.activity_week >= grouped_members.cohort_week
    group by
        grouped_members.cohort_type,
        grouped_members.cohort_week,
        grouped_members.breakdown,
        grouped_members.breakdown_value,
        customer_weeks.activity_week

),

cohort_weeks as (

    select
        cohort_sizes.cohort_type,
        cohort_sizes.cohort_week,
        cohort_sizes.breakdown,
        cohort_sizes.breakdown_value,
        cohort_sizes.cohort_customers,
        calendar.activity_week
    from cohort_sizes
    inner join calendar on calendar.activity_week >= cohort_sizes.cohort_week

),

filled as (

    select
        cohort_weeks.cohort_type,
        cohort_weeks.cohort_week,
        cohort_weeks.breakdown,
        cohort_weeks.breakdown_value,
        cohort_weeks.activity_week,
        cohort_weeks.cohort_customers,
        cast(coalesce(member_activity.active_customers, 0) as {{ dbt.type_bigint() }})
            as active_customers,
        cast(coalesce(member_activity.ordering_customers, 0) as {{ dbt.type_bigint() }})
            as ordering_customers,
        cast(coalesce(member_activity.orders, 0) as {{ dbt.type_bigint() }}) as orders,
        coalesce(member_activity.revenue, 0) as revenue
    from cohort_weeks
    left join member_activity
        on cohort_weeks.cohort_type = member_activity.cohort_type
        and cohort_weeks.cohort_week = member_activity.cohort_week
        and cohort_weeks.breakdown = member_activity.breakdown
        and cohort_weeks.breakdown_value = member_activity.breakdown_value
        and cohort_weeks.activity_week = member_activity.activity_week

),

final as (

    select
        {{ journeymap.surrogate_key([
            'filled.cohort_type', 'filled.cohort_week', 'filled.breakdown',
            'filled.breakdown_value', 'filled.activity_week'
        ]) }} as retention_cohort_key,
        filled.cohort_type,
        filled.cohort_week,
        filled.breakdown,
        filled.breakdown_value,
        {{ journeymap.weeks_between('filled.cohort_week', 'filled.activity_week') }} as weeks_since,
        filled.activity_week,
        filled.cohort_customers,
        filled.active_customers,
        filled.ordering_customers,
        filled.orders,
        filled.revenue,
        filled.active_customers * 1.0 / filled.cohort_customers as active_rate,
        filled.ordering_customers * 1.0 / filled.cohort_customers as ordering_rate,
        filled.revenue / filled.cohort_customers as revenue_per_customer,
        sum(filled.revenue) over (
            partition by filled.cohort_type, filled.cohort_week, filled.breakdown,
                filled.breakdown_value
            order by filled.activity_week
            rows between unbounded preceding and current row
        ) / filled.cohort_customers as cumulative_revenue_per_customer,
        {{ dbt.dateadd('day', 6, 'filled.activity_week') }} <= data_bounds.last_active_on
            as is_complete_week
    from filled
    cross join data_bounds

)

select * from final
{%- endmacro %}

{#- The customer lifecycle week by week, as product analytics tools define it (Amplitude's
    Lifecycle chart; the growth accounting of Mixpanel and of "quick ratio" analyses):
    new - active this week for the first time; returning - active this week and the week
    before (Amplitude: "current"); resurrected - active this week, not the week before, but
    some earlier week; dormant - active the week before, not this week. active = new +
    returning + resurrected. The quick ratio is (new + resurrected) / dormant. Stickiness: how
    many of the week's active customers were active on 1, 2 ... 7 days of it. In the data's
    first week everyone active is new (nothing earlier is known). -#}
{% macro customer_lifecycle(customer_weeks, customers, breakdowns, include_all=true) -%}
with customer_weeks as (

    select customer_key, activity_week, active_days, last_active_on
    from {{ customer_weeks }}

),

customers as (

    select * from {{ customers }}

),

data_bounds as (

    select max(activity_week) as last_week, max(last_active_on) as last_active_on
    from customer_weeks

),

first_weeks as (

    select customer_key, min(activity_week) as first_week
    from customer_weeks
    group by customer_key

),

classified as (

    select
        customer_weeks.customer_key,
        customer_weeks.activity_week,
        customer_weeks.active_days,
        case
            when customer_weeks.activity_week = first_weeks.first_week then 'new'
            when last_week.customer_key is not null then 'returning'
            else 'resurrected'
        end as lifecycle_state
    from customer_weeks
    inner join first_weeks on customer_weeks.customer_key = first_weeks.customer_key
    left join customer_weeks as last_week
        on customer_weeks.customer_key = last_week.customer_key
        and last_week.activity_week = {{ dbt.dateadd('day', -7, 'customer_weeks.activity_week') }}

),

-- Active one week and not the next: dormant in the next week (within the data).
dormant as (

    select
        customer_weeks.customer_key,
        cast({{ dbt.dateadd('day', 7, 'customer_weeks.activity_week') }} as date) as activity_week
    from customer_weeks
    cross join data_bounds
    left join customer_weeks as next_week
        on customer_weeks.customer_key = next_week.customer_key
        and next_week.activity_week = {{ dbt.dateadd('day', 7, 'customer_weeks.activity_week') }}
    where next_week.customer_key is null
        and customer_weeks.activity_week < data_bounds.last_week

),

breakdowns as (

    {{ journeymap.customer_breakdowns('customers', breakdowns, include_all) }}

),

active_counts as (

    select
        classified.activity_week,
        breakdowns.breakdown,
        breakdowns.breakdown_value,
        count(*) as active_customers,
        sum(case when classified.lifecycle_state = 'new' then 1 else 0 end) as new_customers,
        sum(case when classified.lifecycle_state = 'returning' then 1 else 0 end)
            as returning_customers,
        sum(case when classified.lifecycle_state = 'resurrected' then 1 else 0 end)
            as resurrected_customers,
        {%- for days in range(1, 8) %}
        sum(case when classified.active_days = {{ days }} then 1 else 0 end)
            as customers_active_{{ days }}_day{{ 's' if days > 1 }},
        {%- endfor %}
        avg(classified.active_days * 1.0) as mean_active_days
    from classified
    inner join breakdowns on classified.customer_key = breakdowns.customer_key
    group by classified.activity_week, breakdowns.breakdown, breakdowns.breakdown_value

),

dormant_counts as (

    select
        dormant.activity_week,
        breakdowns.breakdown,
        breakdowns.breakdown_value,
        count(*) as dormant_customers
    from dormant
    inner join breakdowns on dormant.customer_key = breakdowns.customer_key
    group by dormant.activity_week, breakdowns.breakdown, breakdowns.breakdown_value

),

groups as (

    select activity_week, breakdown, breakdown_value from active_counts
    union
    select activity_week, breakdown, breakdown_value from dormant_counts

),

final as (

    select
        {{ journeymap.surrogate_key([
            'groups.activity_week', 'groups.breakdown', 'groups.breakdown_value'
        ]) }} as lifecycle_key,
        groups.activity_week,
        groups.breakdown,
        groups.breakdown_value,
        cast(coalesce(active_counts.active_customers, 0) as {{ dbt.type_bigint() }})
            as active_customers,
        cast(coalesce(active_counts.new_customers, 0) as {{ dbt.type_bigint() }}) as new_customers,
        cast(coalesce(active_counts.returning_customers, 0) as {{ dbt.type_bigint() }})
            as returning_customers,
        cast(coalesce(active_counts.resurrected_customers, 0) as {{ dbt.type_bigint() }})
            as resurrected_customers,
        cast(coalesce(dormant_counts.dormant_customers, 0) as {{ dbt.type_bigint() }})
            as dormant_customers,
        case
            when coalesce(dormant_counts.dormant_customers, 0) > 0
                then (
                    coalesce(active_counts.new_customers, 0)
                    + coalesce(active_counts.resurrected_customers, 0)
                ) * 1.0 / dormant_counts.dormant_customers
        end as quick_ratio,
        {%- for days in range(1, 8) %}
        {%- set column = 'customers_active_' ~ days ~ '_day' ~ ('s' if days > 1 else '') %}
        cast(coalesce(active_counts.{{ column }}, 0) as {{ dbt.type_bigint() }}) as {{ column }},
        {%- endfor %}
        active_counts.mean_active_days,
        {{ dbt.dateadd('day', 6, 'groups.activity_week') }} <= data_bounds.last_active_on
            as is_complete_week
    from groups
    cross join data_bounds
    left join active_counts
        on groups.activity_week = active_counts.activity_week
        and groups.breakdown = active_counts.breakdown
        and groups.breakdown_value = active_counts.breakdown_value
    left join dormant_counts
        on groups.activity_week = dormant_counts.activity_week
        and groups.breakdown = dormant_counts.breakdown
        and groups.breakdown_value = dormant_counts.breakdown_value

)

select * from final
{%- endmacro %}
