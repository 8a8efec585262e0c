{#- One row per customer key (everyone with events, and every CRM contact): what retention
    cohorts and the lifecycle break customers down by - when they signed up (CRM created_at),
    the marketing channel of their first web/app visit and the device type of their first
    session ('unknown' without one). -#}

with activity as (

    select * from {{ ref('int_customer_activity') }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

sessions as (

    select * from {{ ref('int_sessions_aggregated') }}

),

signups as (

    select
        customer_id as customer_key,
        min(created_at) as signed_up_at
    from contacts
    group by customer_id

),

first_sessions as (

    select
        customer_key,
        device_type
    from (
        select
            customer_key,
            device_type,
            row_number() over (partition by customer_key order by started_at, session_key)
                as session_position
        from sessions
    ) as positioned_sessions
    where session_position = 1

),

all_customers as (

    select customer_key from activity
    union
    select customer_key from signups

),

final as (

    select
        all_customers.customer_key,
        signups.signed_up_at,
        coalesce(activity.first_acquisition_channel, 'unknown') as acquisition_channel,
        coalesce(first_sessions.device_type, 'unknown') as device_type
    from all_customers
    left join signups on all_customers.customer_key = signups.customer_key
    left join activity on all_customers.customer_key = activity.customer_key
    left join first_sessions on all_customers.customer_key = first_sessions.customer_key

)

select * from final
