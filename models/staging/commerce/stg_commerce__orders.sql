{{ config(materialized='table') }}  {#- calls the privacy functions (macros/privacy.sql) -#}

with deduplicated as (

    {{ journeymap.deduplicate(source('commerce', 'orders'), ['order_id']) }}

),

renamed as (

    select
        order_id,
        {{ journeymap.pseudonym('customer_id') }} as customer_id,
        occurred_at as ordered_at,
        status as order_status,
        amount,
        upper(currency) as currency,
        _loaded_at as loaded_at,
        _file_name as source_file

    from deduplicated

)

select * from renamed
