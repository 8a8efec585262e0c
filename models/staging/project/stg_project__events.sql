{#- Events of the sources the project declares (journeymap.yml `sources`, var event_sources):
    one row per source and event id (latest load kept), in the shape of the tracked events.
    A source reads its landing files (raw.<source>) or a table already in the warehouse
    (macros/staging.sql, project_source_relation). Its events carry the source's channel, and
    a platform - which makes them sessionized per device - only when the project says the
    source is session based. No sources: no rows. -#}
{{ config(materialized='view') }}

{%- set sources = var('event_sources') %}

{% if sources %}

{% for name, source in sources.items() %}
{%- set channel = journeymap.sql_string(source.channel) %}
select
    {{ journeymap.sql_string(name) }} as source,
    {{ channel }} as source_channel,
    {{ journeymap.staged_event_columns(
        channel if source.get('session_based') else 'cast(null as ' ~ dbt.type_string() ~ ')'
    ) }}
from (
    {{ journeymap.deduplicate(journeymap.project_source_relation(name, source), ['event_id']) }}
) as {{ name }}_events
{% if not loop.last %}union all{% endif %}
{% endfor %}

{% else %}

select
    {%- for column in ['source', 'source_channel', 'event_id', 'platform', 'anonymous_id', 'user_id',
        'event_type', 'event_name'] %}
    cast(null as {{ dbt.type_string() }}) as {{ column }},
    {%- endfor %}
    cast(null as {{ dbt.type_timestamp() }}) as occurred_at,
    cast(null as {{ dbt.type_bigint() }}) as event_order,
    {%- for column in ['page_url', 'referrer', 'utm_source', 'utm_medium', 'utm_campaign',
        'device_type', 'properties'] %}
    cast(null as {{ dbt.type_string() }}) as {{ column }},
    {%- endfor %}
    cast(null as {{ dbt.type_timestamp() }}) as loaded_at,
    cast(null as {{ dbt.type_string() }}) as source_file
where 1 = 0

{% endif %}
