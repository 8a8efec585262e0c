{#- The ordered canonical steps of every web/app session (the path_grain 'session' half of
    int_path_steps): the session's events outside var path_excluded_events, consecutive repeats
    collapsed. Step index, step count and next step come from one window pass over the
    collapsed steps; `converted` is joined after collapsing, when there are fewer rows.

    Incremental per device: a run rebuilds every session of the devices whose sessions may have
    changed since it last ran (new or recut events, a new conversion of their customer), the
    same devices fct_sessions rebuilds; delete+insert on the device drops recut sessions. -#}
{{
    config(
        materialized='incremental',
        unique_key='session_partition',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        tmp_relation_type='transient',
    )
}}

{#- The incremental branch reads fct_events through a macro; dbt learns the dependency here. #}
-- depends_on: {{ ref('fct_events') }}

with

{% if is_incremental() %}

changed_partitions as (

    {{ journeymap.session_partitions_changed_since_last_run() }}

),

events as (

    select session_key, session_partition, customer_key, event_key, occurred_at, canonical_event
    from {{ ref('fct_events') }}
    where session_partition in (select session_partition from changed_partitions)

),

sessions as (

    select session_key, converted
    from {{ ref('fct_sessions') }}
    where session_partition in (select session_partition from changed_partitions)

),

{% else %}

events as (

    select session_key, session_partition, customer_key, event_key, occurred_at, canonical_event
    from {{ ref('fct_events') }}

),

sessions as (

    select session_key, converted from {{ ref('fct_sessions') }}

),

{% endif %}

session_events as (

    select
        *,
        lag(canonical_event) over (
            partition by session_key order by occurred_at, event_key
        ) as previous_event
    from events
    where session_key is not null
        and {{ journeymap.path_event_filter() }}

),

final as (

    select
        'session' as path_grain,
        collapsed.session_key as path_owner_key,
        collapsed.session_partition,
        collapsed.customer_key,
        row_number() over (
            partition by collapsed.session_key
            order by collapsed.occurred_at, collapsed.event_key
        ) as step_index,
        count(*) over (partition by collapsed.session_key) as path_step_count,
        collapsed.canonical_event,
        lead(collapsed.canonical_event) over (
            partition by collapsed.session_key
            order by collapsed.occurred_at, collapsed.event_key
        ) as next_event,
        collapsed.occurred_at,
        sessions.converted,
        {{ dbt.current_timestamp() }} as processed_at
    from session_events as collapsed
    inner join sessions on collapsed.session_key = sessions.session_key
    where collapsed.previous_event is null or collapsed.previous_event <> collapsed.canonical_event

)

select * from final
