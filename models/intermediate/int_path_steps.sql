{#- The ordered canonical steps of every path, consecutive repeats collapsed:
    per session (web/app events of the session) and per customer (everything the customer did,
    across channels, up to and including the first conversion). The paths marts read this.

    Step index, step count and next step come from one window pass over the collapsed steps,
    so the paths marts need no window of their own.
    Each grain gets its own window pass over a narrow read of fct_events (partitioned by its
    own key), and "converted" is joined after collapsing, when there are fewer rows. -#}

{%- set path_event_filter -%}
    canonical_event not in (
        {%- for excluded in var('path_excluded_events') %}'{{ excluded }}'{% if not loop.last %}, {% endif %}{% endfor -%}
    )
{%- endset %}

with sessions as (

    select session_key, converted from {{ ref('fct_sessions') }}

),

first_conversions as (

    select customer_key, min(occurred_at) as first_converted_at
    from {{ ref('fct_events') }}
    where is_conversion
    group by customer_key

),

session_events as (

    select
        session_key,
        customer_key,
        event_key,
        occurred_at,
        canonical_event,
        lag(canonical_event) over (
            partition by session_key order by occurred_at, event_key
        ) as previous_event
    from {{ ref('fct_events') }}
    where session_key is not null
        and {{ path_event_filter }}

),

session_steps as (

    select
        'session' as path_grain,
        collapsed.session_key as path_owner_key,
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
        sessions.converted
    from session_events as collapsed
    inner join sessions on collapsed.session_key = sessions.session_key
    where collapsed.previous_event is null or collapsed.previous_event <> collapsed.canonical_event

),

customer_events as (

    select
        events.customer_key,
        events.event_key,
        events.occurred_at,
        events.canonical_event,
        first_conversions.first_converted_at is not null as converted,
        lag(events.canonical_event) over (
            partition by events.customer_key order by events.occurred_at, events.event_key
        ) as previous_event
    from {{ ref('fct_events') }} as events
    left join first_conversions on events.customer_key = first_conversions.customer_key
    where (
            first_conversions.first_converted_at is null
            or events.occurred_at <= first_conversions.first_converted_at
        )
        and events.{{ path_event_filter }}

),

customer_steps as (

    select
        'customer' as path_grain,
        customer_key as path_owner_key,
        customer_key,
        row_number() over (partition by customer_key order by occurred_at, event_key) as step_index,
        count(*) over (partition by customer_key) as path_step_count,
        canonical_event,
        lead(canonical_event) over (partition by customer_key order by occurred_at, event_key) as next_event,
        occurred_at,
        converted
    from customer_events
    where previous_event is null or previous_event <> canonical_event

),

final as (

    select * from session_steps
    union all
    select * from customer_steps

)

select * from final
