with source as (

    select * from {{ source('loader', 'quarantine') }}

),

renamed as (

    select
        {{ journeymap.surrogate_key(['_load_id', '_row_number']) }} as quarantine_key,
        source as source_name,
        _load_id as load_id,
        _file_name as file_name,
        _row_number as row_number,
        reason,
        reason_column,
        reason_detail,
        raw_record,
        _loaded_at as loaded_at

    from source

)

select * from renamed
