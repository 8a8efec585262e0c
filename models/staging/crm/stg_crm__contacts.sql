{{ config(materialized='table') }}  {#- calls the privacy functions (macros/privacy.sql) -#}

with deduplicated as (

    {{ journeymap.deduplicate(source('crm', 'crm_contacts'), ['customer_id', 'updated_at']) }}

),

renamed as (

    select
        {{ journeymap.surrogate_key([journeymap.pseudonym('customer_id'), journeymap.timestamp_text('updated_at')]) }} as contact_version_key,
        {{ journeymap.pseudonym('customer_id') }} as customer_id,
        {{ journeymap.pseudonym(journeymap.normalize_email('email')) }} as email,
        {{ journeymap.pseudonym(journeymap.nullif_blank('phone')) }} as phone,
        created_at,
        lifecycle_stage,
        {{ journeymap.nullif_blank('plan') }} as plan,
        {{ journeymap.nullif_blank('region') }} as region,
        coalesce(consent_email, false) as has_email_consent,
        coalesce(consent_sms, false) as has_sms_consent,
        coalesce(consent_analytics, true) as has_analytics_consent,
        updated_at,
        _loaded_at as loaded_at,
        _file_name as source_file

    from deduplicated

)

select * from renamed
