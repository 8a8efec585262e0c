{#- The ordered canonical steps of every path, consecutive repeats collapsed:
    per session (web/app events of the session) and per customer (everything the customer did,
    across channels, up to and including the first conversion). The paths marts read this. -#}

with events as (

    select * from {{ ref('fct_events') }}

),

sessions as (

    select * from {{ ref('fct_sessions') }}

),

first_conversions as (

    select customer_key, min(occurred_at) as first_converted_at
    from events
    where is_conversion
    group by customer_key

),

path_events as (

    select
        event_key,
        customer_key,
        session_key,
        occurred_at,
        canonical_event,
        is_conversion
    from events
    where canonical_event not in (
        {%- for excluded in var('path_excluded_events') %}'{{ excluded }}'{% if not loop.last %}, {% endif %}{% endfor -%}
    )

),

session_steps as (

    select
        'session' as path_grain,
        path_events.session_key as path_owner_key,
        path_events.customer_key,
        path_events.event_key,
        path_events.occurred_at,
        path_events.canonical_event,
        sessions.converted
    from path_events
    inner join sessions on path_events.session_key = sessions.session_key

),

customer_steps as (

    select
        'customer' as path_grain,
        path_events.customer_key as path_owner_key,
        path_events.customer_key,
        path_events.event_key,
        path_events.occurred_at,
        path_events.canonical_event,
        first_conversions.first_converted_at is not null as converted
    from path_events
    left join first_conversions on path_events.customer_key = first_conversions.customer_key
    where first_conversions.first_converted_at is null
        or path_events.occurred_at <= first_conversions.first_converted_at

),

all_steps as (

    select * from session_steps
    union all
    select * from customer_steps

),

with_previous as (

    select
        *,
        lag(canonical_event) over (
            partition by path_grain, path_owner_key order by occurred_at, event_key
        ) as previous_event
    from all_steps

),

collapsed as (

    select * from with_previous
    where previous_event is null or previous_event <> canonical_event

),

final as (

    select
        path_grain,
        path_owner_key,
        customer_key,
        row_number() over (
            partition by path_grain, path_owner_key order by occurred_at, event_key
        ) as step_index,
        canonical_event,
        occurred_at,
        converted
    from collapsed

)

select * from final
