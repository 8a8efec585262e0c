{#- The ordered canonical steps of every web/app session (the path_grain 'session' half of
    int_path_steps): the session's events outside var path_excluded_events, consecutive repeats
    collapsed. Step index, step count and next step come from one window pass over the
    collapsed steps, ordered by each event's index from the first pass (an integer sorts faster
    than time, event order and event_key again); `converted` is a lookup in the few converted sessions
    rather than a join to every session.

    Incremental per session: a run rebuilds the sessions with new or reprocessed events and
    the sessions of customers with a new conversion (macros/incremental_owners.sql); sessions
    a late event merged into another are deleted by the post-hook. -#}
{{ journeymap.incremental_config(
    'path_owner_key',
    post_hook=[journeymap.delete_vanished_owners('path_owner_key', 'int_sessions_aggregated', 'session_key')],
    settings=['path_excluded_events'],
) }}

{%- set events = ref('int_events_sessionized') %}
{%- set sessions = ref('int_sessions_aggregated') %}

with

{% if is_incremental() %}

changed_sessions as (

    {{ journeymap.sessions_changed_since_last_run(events, sessions) }}

),

events as (

    select session_key, customer_key, event_key, occurred_at, event_order, canonical_event
    from {{ events }}
    where session_key in (select session_key from changed_sessions)

),

converted_sessions as (

    select session_key
    from {{ sessions }}
    where converted
        and session_key in (select session_key from changed_sessions)

),

{% else %}

{#- A full build runs in session slices when fct_events is big (macros/build_slices.sql). -#}
{%- set in_slice = journeymap.in_owner_build_slice('session_key', events) %}

events as (

    select session_key, customer_key, event_key, occurred_at, event_order, canonical_event
    from {{ events }}
    where {{ in_slice }}

),

converted_sessions as (

    select session_key
    from {{ sessions }}
    where converted
        and {{ in_slice }}

),

{% endif %}

session_events as (

    select
        *,
        lag(canonical_event) over (
            partition by session_key order by {{ journeymap.event_sequence() }}
        ) as previous_event,
        row_number() over (
            partition by session_key order by {{ journeymap.event_sequence() }}
        ) as event_index
    from events
    where session_key is not null
        and {{ journeymap.path_event_filter() }}

),

final as (

    select
        'session' as path_grain,
        collapsed.session_key as path_owner_key,
        collapsed.customer_key,
        row_number() over (
            partition by collapsed.session_key order by collapsed.event_index
        ) as step_index,
        count(*) over (partition by collapsed.session_key) as path_step_count,
        collapsed.canonical_event,
        lead(collapsed.canonical_event) over (
            partition by collapsed.session_key order by collapsed.event_index
        ) as next_event,
        collapsed.occurred_at,
        collapsed.session_key in (select session_key from converted_sessions) as converted,
        {{ dbt.current_timestamp() }} as processed_at
    from session_events as collapsed
    where collapsed.previous_event is null or collapsed.previous_event <> collapsed.canonical_event

)

select * from final
