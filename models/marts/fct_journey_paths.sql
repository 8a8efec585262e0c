{#- One row per path: each session's and each customer's ordered canonical path (consecutive
    repeats collapsed, cut at var max_path_steps), whether it converted, and how common and how
    converting that exact path is across all paths of the same grain.

    The per-path rows are kept up to date per device and customer in int_journey_paths; the
    figures across paths are one aggregate joined back (a hash join, not a window sort).
    int_journey_paths is read twice rather than through one CTE, which DuckDB would
    materialize. -#}

with path_figures as (

    select
        path_grain,
        path,
        count(*) as path_occurrences,
        avg(case when converted then 1.0 else 0.0 end) as path_conversion_rate
    from {{ ref('int_journey_paths') }}
    group by path_grain, path

),

final as (

    select
        paths.path_key,
        paths.path_grain,
        paths.path_owner_key,
        paths.customer_key,
        paths.path,
        paths.path_steps,
        paths.is_truncated,
        paths.first_event,
        paths.last_event,
        paths.started_at,
        paths.ended_at,
        paths.converted,
        path_figures.path_occurrences,
        path_figures.path_conversion_rate
    from {{ ref('int_journey_paths') }} as paths
    inner join path_figures
        on paths.path_grain = path_figures.path_grain
        and paths.path = path_figures.path

)

select * from final
