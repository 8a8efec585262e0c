{#- The mapped event stream with every event attributed to one customer key: the customer id
    it carries, else the owner of its device, else the owner of its email; events of people
    never identified keep an anonymous key. Stitching is retroactive: a device's history
    before its first login belongs to the customer who logged in. -#}
{{ config(materialized='view') }}

with events as (

    select * from {{ ref('int_events_mapped') }}

),

identity_map as (

    select * from {{ ref('int_identity_map') }}

),

device_owners as (

    select identifier, customer_id, mapping_loaded_at
    from identity_map
    where identifier_type = 'anonymous_id'

),

email_owners as (

    select identifier, customer_id, mapping_loaded_at
    from identity_map
    where identifier_type = 'email'

),

stitched as (

    select
        events.*,
        coalesce(events.customer_id, device_owners.customer_id, email_owners.customer_id)
            as resolved_customer_id,
        case
            when events.customer_id is not null then 'direct'
            when device_owners.customer_id is not null then 'device'
            when email_owners.customer_id is not null then 'email'
            else 'anonymous'
        end as identity_source,
        coalesce(device_owners.mapping_loaded_at, email_owners.mapping_loaded_at)
            as identity_loaded_at
    from events
    left join device_owners
        on events.anonymous_id = device_owners.identifier
    left join email_owners
        on events.email = email_owners.identifier

),

final as (

    select
        event_key,
        source,
        source_event_id,
        coalesce(
            resolved_customer_id,
            'anon:' || anonymous_id,
            'email:' || email
        ) as customer_key,
        resolved_customer_id as customer_id,
        identity_source,
        occurred_at,
        event_order,
        loaded_at,
        identity_loaded_at,
        raw_event_name,
        canonical_event,
        channel,
        touchpoint,
        journey_stage,
        is_conversion,
        revenue,
        anonymous_id,
        platform,
        device_type,
        -- Sessions are per device (as trackers do); stitching never moves session boundaries.
        case
            when platform is not null then coalesce(anonymous_id, 'user:' || customer_id)
        end as session_partition,
        page_url,
        referrer,
        utm_source,
        utm_medium,
        utm_campaign,
        case
            when platform is not null
                then {{ journeymap.acquisition_channel('utm_source', 'utm_medium', 'referrer') }}
        end as acquisition_channel,
        context_id
    from stitched

)

select * from final
