{#- One row per path: each session's and each customer's ordered canonical path (consecutive
    repeats collapsed, cut at var max_path_steps) and whether it converted, before the
    figures across all paths that fct_journey_paths adds.

    The path string is pivoted from the first max_path_steps steps and concatenated, not built
    by an ordered string aggregate: DuckDB holds every group's ordered list in memory, which
    runs out of memory on big warehouses; a plain aggregate spills.

    Incremental: rebuilds the paths whose steps were rebuilt since it last ran (all steps of
    a path are rebuilt together); paths of sessions merged into another and of customers with
    no events left are deleted by the post-hooks. -#}
{{ journeymap.incremental_config(
    ['path_grain', 'path_owner_key'],
    post_hook=[
        journeymap.delete_vanished_owners(
            'path_owner_key', 'int_sessions_aggregated', 'session_key', where="path_grain = 'session'"
        ),
        journeymap.delete_vanished_owners('customer_key', 'int_customer_activity', 'customer_key'),
    ],
    settings=['max_path_steps'],
) }}

{%- set max_steps = var('max_path_steps') | int %}
{%- set rebuilt_steps = 'processed_at > ' ~ journeymap.last_processed_at() if is_incremental() else 'true' %}
{%- set step_columns = 'path_owner_key, customer_key, step_index, path_step_count, canonical_event, occurred_at, converted' %}

with steps as (

    select 'session' as path_grain, {{ step_columns }}
    from {{ ref('int_session_path_steps') }}
    where {{ rebuilt_steps }}

    union all

    select 'customer' as path_grain, {{ step_columns }}
    from {{ ref('int_customer_path_steps') }}
    where {{ rebuilt_steps }}

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
final as (

    select
        {{ journeymap.surrogate_key(['path_grain', 'path_owner_key']) }} as path_key,
        path_grain,
        path_owner_key,
        customer_key,
        step_1
        {%- for position in range(2, max_steps + 1) %}
            || coalesce(' > ' || step_{{ position }}, '')
        {%- endfor %} as path,
        path_steps,
        path_steps > {{ max_steps }} as is_truncated,
        step_1 as first_event,
        last_event,
        started_at,
        ended_at,
        converted,
        {{ dbt.current_timestamp() }} as processed_at
    from path_steps

)

select * from final
