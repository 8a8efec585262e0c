{#- The ordered canonical steps of every path, consecutive repeats collapsed: per session
    (int_session_path_steps) and per customer up to their first conversion
    (int_customer_path_steps). Each half is kept up to date per owner; the paths marts read
    this union. -#}
{{ config(materialized='view') }}

{%- set step_columns = [
    'path_grain', 'path_owner_key', 'customer_key', 'step_index', 'path_step_count',
    'canonical_event', 'next_event', 'occurred_at', 'converted', 'processed_at',
] %}

with session_steps as (

    select {{ step_columns | join(', ') }}
    from {{ ref('int_session_path_steps') }}

),

customer_steps as (

    select {{ step_columns | join(', ') }}
    from {{ ref('int_customer_path_steps') }}

),

final as (

    select * from session_steps
    union all
    select * from customer_steps

)

select * from final
