{{ config(materialized='table') }}  {#- calls the privacy functions (macros/privacy.sql) -#}

with deduplicated as (

    {{ journeymap.deduplicate(source('support', 'support_messages'), ['message_id']) }}

),

renamed as (

    select
        message_id,
        ticket_id,
        {{ journeymap.pseudonym(journeymap.nullif_blank('customer_id')) }} as customer_id,
        {{ journeymap.pseudonym(journeymap.normalize_email('email')) }} as email,
        channel as support_channel,
        author_type,
        occurred_at as sent_at,
        {{ journeymap.mask_text(journeymap.nullif_blank('subject')) }} as subject,
        {{ journeymap.mask_text('body') }} as body,
        csat as csat_score,
        _loaded_at as loaded_at,
        _file_name as source_file

    from deduplicated

)

select * from renamed
