{#- How events at the same instant are ordered (README: Stable order for ties). -#}

{#- An event's place in its source, which orders events at the same instant: the landing file's
    `event_order` (import-events writes the export's row number or its rank by an order
    column), else the row's number in its file. -#}
{% macro event_order() -%}
    coalesce(event_order, _row_number)
{%- endmacro %}


{#- The order of events in a journey: by time, then by their order in the source (file row or
    export order), then by key, so ties at the same instant keep the order they had. -#}
{% macro event_sequence(relation_alias=none) -%}
    {%- set prefix = relation_alias ~ '.' if relation_alias else '' -%}
    {{ prefix }}occurred_at, {{ prefix }}event_order nulls last, {{ prefix }}event_key
{%- endmacro %}
