{#- Channel x heuristic attribution model: attributed conversions and revenue, their shares,
    and with paid media spend the cost per attributed conversion and the return on spend
    (macros/attribution.sql). -#}
{{ journeymap.attribution_summary(['channel']) }}
