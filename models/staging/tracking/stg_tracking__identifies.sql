{{ config(materialized='table') }}  {#- calls the privacy functions (macros/privacy.sql) -#}

with deduplicated as (

    {{ journeymap.deduplicate(source('tracking', 'identifies'), ['identify_id']) }}

),

renamed as (

    select
        identify_id,
        anonymous_id,
        {{ journeymap.pseudonym('user_id') }} as user_id,
        occurred_at as identified_at,
        _loaded_at as loaded_at,
        _file_name as source_file

    from deduplicated

)

select * from renamed
