{#- One row per path: each session's and each customer's ordered canonical path (consecutive
    repeats collapsed, cut at var max_path_steps), whether it converted, and how common and how
    converting that exact path is across all paths of the same grain. -#}

with steps as (

    select * from {{ ref('int_path_steps') }}

),

paths as (

    select
        path_grain,
        path_owner_key,
        max(customer_key) as customer_key,
        {{ dbt.listagg(
            "case when step_index <= " ~ var('max_path_steps') ~ " then canonical_event end",
            "' > '",
            "order by step_index"
        ) }} as path,
        count(*) as path_steps,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        max(case when step_index = 1 then canonical_event end) as first_event,
        max(case when step_index = path_step_count then canonical_event end) as last_event,
        max(case when converted then 1 else 0 end) = 1 as converted
    from steps
    group by path_grain, path_owner_key

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
