{#- An incremental table like the tracking streams: the third biggest source, read by the
    event stream once per build slice and by the identity map and the reconciliation, so it is
    deduplicated once per load rather than by every reader. A re-sent event replaces its
    earlier version. -#}
{{ journeymap.incremental_config('email_event_id') }}

with deduplicated as (

    {{ journeymap.deduplicate(
        source('esp', 'email_events'), ['email_event_id'], where=journeymap.loaded_since_last_run()
    ) }}

),

renamed as (

    select
        email_event_id,
        {{ journeymap.pseudonym(journeymap.nullif_blank('customer_id')) }} as customer_id,
        {{ journeymap.pseudonym(journeymap.normalize_email('email')) }} as email,
        campaign_id,
        event_type,
        occurred_at,
        _loaded_at as loaded_at,
        _file_name as source_file

    from deduplicated

)

select * from renamed
