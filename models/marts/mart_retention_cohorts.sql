{#- Retention cohorts: customers grouped by the week of their first order and by the week
    they signed up, followed week by week - how many were active and how many ordered, and
    what they spent - in total and by acquisition channel and by device (of the first visit).
    The definitions are in macros/retention.sql; by segment in enriched.mart_segment_retention. -#}

{%- set customer_weeks = ref('int_customer_weeks') %}
{%- set customers = ref('int_customer_cohorts') %}

{{ journeymap.retention_cohorts(customer_weeks, customers, ['acquisition_channel', 'device_type']) }}
