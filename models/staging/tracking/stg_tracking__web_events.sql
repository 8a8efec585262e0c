{#- Website events, staged once per load (macros/staging.sql): the big streams are
    deduplicated here, not by every reader; a re-sent event replaces its earlier version. -#}
{{ journeymap.incremental_config('event_id') }}

{{ journeymap.stage_tracking_events(source('tracking', 'web_events'), 'web') }}
