with source as (

    select * from {{ source('loader', 'load_ledger') }}

),

renamed as (

    select
        _load_id as load_id,
        source as source_name,
        file_name,
        file_sha256,
        rows_in_file,
        rows_loaded,
        rows_quarantined,
        loaded_at,
        status as load_status

    from source

)

select * from renamed
