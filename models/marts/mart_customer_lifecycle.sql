{#- The customer lifecycle week by week: active customers split into new, returning and
    resurrected, the customers who went dormant, the quick ratio, and stickiness (active days
    per week), in total and by acquisition channel and by device (of the first visit). The
    definitions are in macros/retention.sql; by segment in enriched.mart_segment_lifecycle. -#}

{%- set customer_weeks = ref('int_customer_weeks') %}
{%- set customers = ref('int_customer_cohorts') %}

{{ journeymap.customer_lifecycle(customer_weeks, customers, ['acquisition_channel', 'device_type']) }}
