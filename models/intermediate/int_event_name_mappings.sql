{#- Each distinct raw event name of each source, how many events carry it, and its best
    taxonomy match (the highest-priority pattern it is LIKE). Matching the few distinct names
    once keeps the LIKE join tiny; keeping it in a table leaves the event stream a plain
    pipeline, so a reader can filter it down to the source scans (int_events_sessionized
    builds in device slices that way). -#}
{{ config(materialized='table') }}

with events as (

    select * from {{ ref('int_events_unioned') }}

),

taxonomy as (

    select * from {{ ref('event_taxonomy') }}

),

raw_event_names as (

    select source, raw_event_name, count(*) as event_count
    from events
    group by source, raw_event_name

),

name_matches as (

    select
        raw_event_names.source,
        raw_event_names.raw_event_name,
        taxonomy.canonical_event,
        taxonomy.channel,
        taxonomy.touchpoint,
        taxonomy.journey_stage,
        taxonomy.is_conversion,
        row_number() over (
            partition by raw_event_names.source, raw_event_names.raw_event_name
            order by taxonomy.priority desc, taxonomy.event_name_pattern
        ) as match_rank
    from raw_event_names
    inner join taxonomy
        on raw_event_names.source = taxonomy.source
        and raw_event_names.raw_event_name like taxonomy.event_name_pattern

),

best_matches as (

    select * from name_matches where match_rank = 1

),

final as (

    select
        raw_event_names.source,
        raw_event_names.raw_event_name,
        raw_event_names.event_count,
        coalesce(best_matches.canonical_event, 'unmapped') as canonical_event,
        best_matches.channel,
        coalesce(best_matches.touchpoint, 'unmapped') as touchpoint,
        coalesce(best_matches.journey_stage, 'unmapped') as journey_stage,
        coalesce(best_matches.is_conversion, false) as is_conversion
    from raw_event_names
    left join best_matches
        on raw_event_names.source = best_matches.source
        and raw_event_names.raw_event_name = best_matches.raw_event_name

)

select * from final
