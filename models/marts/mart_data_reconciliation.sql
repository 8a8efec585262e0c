{#- Every landed row accounted for, per source: rows in the landing files (from the loader's
    ledger) = rows staged + duplicates removed + rows quarantined. Duplicates are repeated keys
    in raw (retries, re-sent rows) plus whole files re-delivered under another name (the
    loader skips their content and counts their rows in the ledger). `is_reconciled` is checked
    by a test on every build. -#}

{%- set sources = {
    'web_events': ('tracking', 'web_events', 'stg_tracking__web_events', ['event_id']),
    'app_events': ('tracking', 'app_events', 'stg_tracking__app_events', ['event_id']),
    'identifies': ('tracking', 'identifies', 'stg_tracking__identifies', ['identify_id']),
    'email_events': ('esp', 'email_events', 'stg_esp__email_events', ['email_event_id']),
    'crm_contacts': ('crm', 'crm_contacts', 'stg_crm__contacts', ['customer_id', 'updated_at']),
    'orders': ('commerce', 'orders', 'stg_commerce__orders', ['order_id']),
    'subscriptions': ('commerce', 'subscriptions', 'stg_commerce__subscriptions', ['subscription_id', 'updated_at']),
    'support_messages': ('support', 'support_messages', 'stg_support__messages', ['message_id']),
    'reviews': ('reviews', 'reviews', 'stg_reviews__reviews', ['review_id']),
    'marketing_spend': ('marketing', 'marketing_spend', 'stg_marketing__spend', ['spent_on', 'channel', 'campaign']),
} %}
{#- The project's own event sources (var event_sources): landing files are in the ledger like
    the others; a source read from a warehouse table has no files, so its table's rows count as
    landed. -#}
{%- set project_sources = var('event_sources') %}

with ledger as (

    select * from {{ ref('stg_loader__load_ledger') }}

),

quarantine as (

    select * from {{ ref('stg_loader__quarantine') }}

),

landed as (

    select
        source_name,
        sum(rows_in_file) as landed_rows,
        count(*) as files,
        sum(case when load_status = 'duplicate_file' then rows_in_file else 0 end)
            as duplicate_file_rows
    from ledger
    group by source_name

),

quarantined as (

    select source_name, count(*) as quarantined_rows
    from quarantine
    group by source_name

),

counted as (

    {% for name, (source_name, table, staging_model, key) in sources.items() %}
    select
        '{{ name }}' as source_name,
        (select count(*) from {{ source(source_name, table) }}) as raw_rows,
        (select count(*) from (
            select distinct {{ key | join(', ') }} from {{ source(source_name, table) }}
        ) as distinct_keys) as distinct_raw_keys,
        (select count(*) from {{ ref(staging_model) }}) as staged_rows,
        cast(null as {{ dbt.type_bigint() }}) as table_rows
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
    {% for name, project_source in project_sources.items() %}
    {%- set relation = journeymap.project_source_relation(name, project_source) %}
    union all
    select
        {{ journeymap.sql_string(name) }},
        (select count(*) from {{ relation }} as raw_events),
        (select count(*) from (select distinct event_id from {{ relation }} as raw_events) as distinct_keys),
        (select count(*) from {{ ref('stg_project__events') }} where source = {{ journeymap.sql_string(name) }}),
        {% if project_source.get('table') %}(select count(*) from {{ relation }} as raw_events){% else %}null{% endif %}
    {% endfor %}

),

with_duplicates as (

    select
        counted.*,
        coalesce(landed.files, 0) as files,
        coalesce(landed.landed_rows, counted.table_rows, 0) as landed_rows,
        coalesce(landed.duplicate_file_rows, 0) as duplicate_file_rows,
        counted.raw_rows - counted.distinct_raw_keys
            + coalesce(landed.duplicate_file_rows, 0) as deduplicated_rows,
        coalesce(quarantined.quarantined_rows, 0) as quarantined_rows
    from counted
    left join landed on counted.source_name = landed.source_name
    left join quarantined on counted.source_name = quarantined.source_name

),

final as (

    select
        source_name,
        files,
        landed_rows,
        raw_rows,
        staged_rows,
        deduplicated_rows,
        duplicate_file_rows,
        quarantined_rows,
        landed_rows - staged_rows - deduplicated_rows - quarantined_rows as unaccounted_rows,
        landed_rows = staged_rows + deduplicated_rows + quarantined_rows as is_reconciled
    from with_duplicates

)

select * from final
