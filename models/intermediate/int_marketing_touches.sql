{#- One row per marketing touch of a customer: every web or app visit, its channel from its
    campaign tags and referrer (macros/traffic.sql, as fct_sessions has it) and its campaign
    from utm_campaign; and every event of var attribution_touch_events (email clicks), its
    channel from the taxonomy and its campaign from the event's context (the email campaign).
    A touch without a campaign has `(<channel>)` as its campaign, as GA reports `(direct)`.
    An email click whose click-through visit (same channel and campaign, starting within the
    session timeout after the click) is in the data is one touch: the visit.

    A table, rebuilt in full: it reads the session table and one event type, and a changed
    var never leaves it stale. -#}

{%- set touch_events = var('attribution_touch_events') %}

with sessions as (

    select * from {{ ref('int_sessions_aggregated') }}

),

touch_events as (

    select
        event_key,
        customer_key,
        occurred_at,
        canonical_event,
        channel,
        context_id
    from {{ ref('int_events_sessionized') }}
    where canonical_event in (
        {%- for event in touch_events %}'{{ event }}'{% if not loop.last %}, {% endif %}{% endfor -%}
        {%- if not touch_events %}null{% endif -%}
    )

),

visits as (

    select
        session_key as touch_key,
        customer_key,
        started_at as touched_at,
        'visit' as touch_type,
        acquisition_channel as channel,
        coalesce(
            {{ journeymap.nullif_blank('utm_campaign') }}, '(' || acquisition_channel || ')'
        ) as campaign,
        session_key
    from sessions

),

-- Events whose click-through visit is in the data are that visit already.
event_touches as (

    select
        touch_events.event_key as touch_key,
        touch_events.customer_key,
        touch_events.occurred_at as touched_at,
        touch_events.canonical_event as touch_type,
        touch_events.channel,
        coalesce(
            {{ journeymap.nullif_blank('touch_events.context_id') }}, '(' || touch_events.channel || ')'
        ) as campaign,
        cast(null as {{ dbt.type_string() }}) as session_key
    from touch_events
    where not exists (
        select 1
        from visits
        where visits.customer_key = touch_events.customer_key
            and visits.channel = touch_events.channel
            and visits.campaign = touch_events.context_id
            and visits.touched_at >= touch_events.occurred_at
            and visits.touched_at <= {{ dbt.dateadd('minute', var('session_timeout_minutes'), 'touch_events.occurred_at') }}
    )

),

final as (

    select touch_key, customer_key, touched_at, touch_type, channel, campaign, session_key
    from visits

    union all

    select touch_key, customer_key, touched_at, touch_type, channel, campaign, session_key
    from event_touches

)

select * from final
