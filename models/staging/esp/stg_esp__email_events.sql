with deduplicated as (

    {{ journeymap.deduplicate(source('esp', 'email_events'), ['email_event_id']) }}

),

renamed as (

    select
        email_event_id,
        {{ journeymap.nullif_blank('customer_id') }} as customer_id,
        {{ journeymap.normalize_email('email') }} as email,
        campaign_id,
        event_type,
        occurred_at,
        _loaded_at as loaded_at,
        _file_name as source_file

    from deduplicated

)

select * from renamed
