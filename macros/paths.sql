{#- The events a journey path leaves out (var path_excluded_events: system sends and the
    like), as a predicate on canonical_event. -#}
{% macro path_event_filter(relation_alias=none) -%}
    {%- set column = relation_alias ~ '.canonical_event' if relation_alias else 'canonical_event' -%}
    {{ column }} not in (
        {%- for excluded in var('path_excluded_events') %}'{{ excluded }}'{% if not loop.last %}, {% endif %}{% endfor -%}
    )
{%- endmacro %}
