{#- One row per path: each session's and each customer's ordered canonical path (consecutive
    repeats collapsed, cut at var max_path_steps), whether it converted, and how common and how
    converting that exact path is across all paths of the same grain.

    The path string is pivoted from the first max_path_steps steps and concatenated, not built
    by an ordered string aggregate: DuckDB holds every group's ordered list in memory, and at
    100M events (140M steps) that ran out of memory; a plain aggregate spills. -#}

{%- set max_steps = var('max_path_steps') | int %}

with steps as (

    select * from {{ ref('int_path_steps') }}

),

path_steps as (

    select
        path_grain,
        path_owner_key,
        max(customer_key) as customer_key,
        {% for position in range(1, max_steps + 1) -%}
        max(case when step_index = {{ position }} then canonical_event end) as step_{{ position }},
        {% endfor -%}
        count(*) as path_steps,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        max(case when step_index = path_step_count then canonical_event end) as last_event,
        max(case when converted then 1 else 0 end) = 1 as converted
    from steps
    group by path_grain, path_owner_key

),

-- Steps are numbered 1..n without gaps, so the missing ones are all at the end.
paths as (

    select
        path_grain,
        path_owner_key,
        customer_key,
        step_1
        {%- for position in range(2, max_steps + 1) %}
            || coalesce(' > ' || step_{{ position }}, '')
        {%- endfor %} as path,
        path_steps,
        started_at,
        ended_at,
        step_1 as first_event,
        last_event,
        converted
    from path_steps

),

final as (

    select
        {{ journeymap.surrogate_key(['paths.path_grain', 'paths.path_owner_key']) }} as path_key,
        paths.path_grain,
        paths.path_owner_key,
        paths.customer_key,
        paths.path,
        paths.path_steps,
        paths.path_steps > {{ var('max_path_steps') }} as is_truncated,
        paths.first_event,
        paths.last_event,
        paths.started_at,
        paths.ended_at,
        paths.converted,
        count(*) over (partition by paths.path_grain, paths.path) as path_occurrences,
        avg(case when paths.converted then 1.0 else 0.0 end)
            over (partition by paths.path_grain, paths.path) as path_conversion_rate
    from paths

)

select * from final
