with deduplicated as (

    {{ journeymap.deduplicate(source('marketing', 'marketing_spend'), ['spent_on', 'channel', 'campaign']) }}

),

renamed as (

    select
        cast(spent_on as date) as spent_on,
        cast({{ dbt.date_trunc('week', 'spent_on') }} as date) as spent_week,
        channel,
        campaign,
        spend,
        upper(currency) as currency,
        _loaded_at as loaded_at,
        _file_name as source_file

    from deduplicated

)

select * from renamed
