{#- One row per customer interaction, from every source, in the canonical taxonomy, with the
    web/app session it belongs to: the event stream of int_events_unified, sessionized. A
    session is a device's run of events with no gap longer than var session_timeout_minutes
    (a gap of exactly the timeout stays in the session); events at the same instant share a
    session. marts.fct_events is this table as BI reads it.

    Incremental: a run processes the events loaded since the last run, the events whose
    identity changed since then (a device or email newly stitched), and - per device - every
    later event of a device with new events, so that sessions are recut exactly where a late
    event lands. Sessions only look backwards (a gap from the previous event), so everything
    before a device's earliest new event keeps its session; the last such event seeds the
    recut. A full refresh and any sequence of incremental runs give the same rows. -#}
{{ journeymap.incremental_config('event_key', settings=['session_timeout_minutes', 'event_sources']) }}
{#- Snowflake: micro-partitions by event date, the filter of most event queries (BI and the
    marts read date ranges; new loads land on recent dates). Other adapters ignore it. -#}
{{ config(cluster_by=['to_date(occurred_at)']) }}

{#- The event stream's columns, as int_events_unified and this table both carry them. -#}
{%- set event_columns = [
    'event_key', 'source', 'source_event_id', 'customer_key', 'customer_id', 'identity_source',
    'occurred_at', 'event_order', 'loaded_at', 'identity_loaded_at', 'raw_event_name', 'canonical_event',
    'channel', 'touchpoint', 'journey_stage', 'is_conversion', 'revenue', 'anonymous_id',
    'platform', 'device_type', 'session_partition', 'page_url', 'referrer', 'utm_source',
    'utm_medium', 'utm_campaign', 'acquisition_channel', 'context_id',
] %}

{#- A full build reads the event stream view twice (web/app events for the session windows,
    the rest passing by them) rather than through one CTE, which DuckDB would materialize. It
    runs in device slices when the stream is big (macros/build_slices.sql): sessions never
    cross devices, so each slice is exact, and each holds 1/slices of the stream in memory. -#}
{%- if is_incremental() -%}
    {%- set events_to_process = 'events_to_process' -%}
{%- else -%}
    {%- set build_slices = journeymap.build_slice_count(
        'select sum(event_count) from ' ~ ref('int_event_name_mappings')
    ) -%}
    {%- set events_to_process -%}
        (
            select * from {{ ref('int_events_unified') }}
            where {{ journeymap.in_build_slice('coalesce(session_partition, source_event_id)', build_slices) }}
        )
    {%- endset -%}
{%- endif %}

with

{% if is_incremental() %}

watermark as (

    select coalesce(max(loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) as last_loaded_at
    from {{ this }}

),

-- Events loaded since the last run, and older events whose device or email was newly
-- stitched to a customer (or moved to another one).
changed_events as (

    select events.*
    from {{ ref('int_events_unified') }} as events
    where events.loaded_at > (select last_loaded_at from watermark)
        or events.identity_loaded_at > (select last_loaded_at from watermark)

),

recut_from as (

    select session_partition, min(occurred_at) as recut_from_at
    from changed_events
    where session_partition is not null
    group by session_partition

),

-- Already-built events after a recut point keep everything but their session; they are read
-- back from this table rather than recomputed from the whole event stream.
events_to_recut as (

    select {% for column in event_columns %}built.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
    from {{ this }} as built
    inner join recut_from
        on built.session_partition = recut_from.session_partition
        and built.occurred_at >= recut_from.recut_from_at
    where not exists (
        select 1 from changed_events where changed_events.event_key = built.event_key
    )

),

events_to_process as (

    select {{ event_columns | join(', ') }} from changed_events
    union all
    select {{ event_columns | join(', ') }} from events_to_recut

),

-- The last already-built event before each recut: its session continues into the new events.
session_seeds as (

    select session_partition, occurred_at, session_started_at
    from (
        select
            built.session_partition,
            built.occurred_at,
            built.session_started_at,
            row_number() over (
                partition by built.session_partition
                order by built.occurred_at desc, built.event_key desc
            ) as recency_rank
        from {{ this }} as built
        inner join recut_from
            on built.session_partition = recut_from.session_partition
            and built.occurred_at < recut_from.recut_from_at
    ) as ranked
    where recency_rank = 1

),

{% else %}

session_seeds as (

    select
        cast(null as {{ dbt.type_string() }}) as session_partition,
        cast(null as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(null as {{ dbt.type_timestamp() }}) as session_started_at
    where 1 = 0

),

{% endif %}

-- Web/app events in device order, with the seeds (no event_key, only the columns a window needs).
session_timeline as (

    select {{ event_columns | join(', ') }}, cast(null as {{ dbt.type_timestamp() }}) as seeded_start
    from {{ events_to_process }} as events_to_process
    where session_partition is not null

    union all

    select
        {% for column in event_columns -%}
        {{ column if column in ('session_partition', 'occurred_at') else 'null' }},
        {% endfor -%}
        session_started_at
    from session_seeds

),

session_gaps as (

    select
        *,
        lag(occurred_at) over (
            partition by session_partition order by occurred_at
        ) as previous_occurred_at
    from session_timeline

),

session_starts as (

    select
        *,
        case
            when seeded_start is not null then seeded_start
            when previous_occurred_at is null then occurred_at
            when {{ dbt.datediff('previous_occurred_at', 'occurred_at', 'second') }}
                > {{ var('session_timeout_minutes') }} * 60 then occurred_at
        end as started_at_if_new
    from session_gaps

),

-- Session starts only grow along the timeline, so a running max carries each forward.
-- Both windows order by time alone: events at the same instant share a session whatever
-- their order, because the range frame gives every tied event the max over all of them
-- (ordering by event_key as well makes the sorts slower). The windows run over whole rows:
-- joining the session starts back to the events costs more (the hash join spills its wide
-- probe side).
sessionized as (

    select
        *,
        max(started_at_if_new) over (
            partition by session_partition
            order by occurred_at
            range between unbounded preceding and current row
        ) as session_started_at
    from session_starts

),

events_with_sessions as (

    select {{ event_columns | join(', ') }}, session_started_at
    from sessionized
    where event_key is not null

    union all

    select {{ event_columns | join(', ') }}, cast(null as {{ dbt.type_timestamp() }})
    from {{ events_to_process }} as events_to_process
    where session_partition is null
        -- Implied by the line above; spelled out, it lets DuckDB skip the web and app tables
        -- by their statistics (no null platform or device id) instead of scanning every row
        -- for none.
        and (platform is null or anonymous_id is null)

),

final as (

    select
        event_key,
        source,
        source_event_id,
        customer_key,
        customer_id,
        identity_source,
        occurred_at,
        event_order,
        cast(occurred_at as date) as event_date,
        raw_event_name,
        canonical_event,
        channel,
        touchpoint,
        journey_stage,
        is_conversion,
        revenue,
        case
            when session_started_at is not null
                then {{ journeymap.surrogate_key(['session_partition', journeymap.timestamp_text('session_started_at')]) }}
        end as session_key,
        session_started_at,
        session_partition,
        anonymous_id,
        platform,
        device_type,
        page_url,
        referrer,
        utm_source,
        utm_medium,
        utm_campaign,
        acquisition_channel,
        context_id,
        loaded_at,
        identity_loaded_at,
        {{ dbt.current_timestamp() }} as processed_at
    from events_with_sessions

)

select * from final
