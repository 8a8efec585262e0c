{#- The distinct paths with how often they occur and how often they convert, ranked by
    frequency within each grain (session or customer): the "top paths" table. -#}

with paths as (

    select * from {{ ref('int_journey_paths') }}

),

summarized as (

    select
        path_grain,
        path,
        max(path_steps) as path_steps,
        count(*) as occurrences,
        sum(case when converted then 1 else 0 end) as conversions
    from paths
    group by path_grain, path

),

final as (

    select
        {{ journeymap.surrogate_key(['path_grain', 'path']) }} as path_summary_key,
        path_grain,
        path,
        path_steps,
        occurrences,
        conversions,
        {{ journeymap.safe_ratio('conversions', 'occurrences') }} as conversion_rate,
        {{ journeymap.safe_ratio('occurrences', 'sum(occurrences) over (partition by path_grain)') }}
            as share_of_paths,
        row_number() over (
            partition by path_grain order by occurrences desc, path
        ) as frequency_rank
    from summarized

)

select * from final
