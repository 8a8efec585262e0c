{{ config(materialized='table') }}  {#- calls the privacy functions (macros/privacy.sql) -#}

with deduplicated as (

    {{ journeymap.deduplicate(source('reviews', 'reviews'), ['review_id']) }}

),

renamed as (

    select
        review_id,
        {{ journeymap.pseudonym(journeymap.nullif_blank('customer_id')) }} as customer_id,
        {{ journeymap.pseudonym(journeymap.normalize_email('email')) }} as email,
        review_type,
        occurred_at as submitted_at,
        score,
        {{ journeymap.mask_text(journeymap.nullif_blank('body')) }} as body,
        _loaded_at as loaded_at,
        _file_name as source_file

    from deduplicated

)

select * from renamed
