{#- A predicate: canonical_event (of `relation_alias`, when given) is none of `events`. -#}
{% macro canonical_event_not_in(events, relation_alias=none) -%}
    {%- set column = relation_alias ~ '.canonical_event' if relation_alias else 'canonical_event' -%}
    {{ column }} not in (
        {%- for excluded in events %}'{{ excluded }}'{% if not loop.last %}, {% endif %}{% endfor -%}
    )
{%- endmacro %}

{#- The events a journey path leaves out (var path_excluded_events: system sends and the
    like), as a predicate on canonical_event. -#}
{% macro path_event_filter(relation_alias=none) -%}
    {{ journeymap.canonical_event_not_in(var('path_excluded_events'), relation_alias) }}
{%- endmacro %}
