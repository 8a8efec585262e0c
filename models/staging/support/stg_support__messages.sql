with deduplicated as (

    {{ journeymap.deduplicate(source('support', 'support_messages'), ['message_id']) }}

),

renamed as (

    select
        message_id,
        ticket_id,
        {{ journeymap.nullif_blank('customer_id') }} as customer_id,
        {{ journeymap.normalize_email('email') }} as email,
        channel as support_channel,
        author_type,
        occurred_at as sent_at,
        {{ journeymap.nullif_blank('subject') }} as subject,
        body,
        csat as csat_score,
        _loaded_at as loaded_at,
        _file_name as source_file

    from deduplicated

)

select * from renamed
