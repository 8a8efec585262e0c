{{ config(materialized='table') }}  {#- calls the privacy functions (macros/privacy.sql) -#}

with deduplicated as (

    {{ journeymap.deduplicate(source('commerce', 'subscriptions'), ['subscription_id', 'updated_at']) }}

),

renamed as (

    select
        {{ journeymap.surrogate_key(['subscription_id', journeymap.timestamp_text('updated_at')]) }} as subscription_version_key,
        subscription_id,
        {{ journeymap.pseudonym('customer_id') }} as customer_id,
        plan,
        started_at,
        cancelled_at,
        updated_at,
        _loaded_at as loaded_at,
        _file_name as source_file

    from deduplicated

)

select * from renamed
