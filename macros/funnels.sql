{#- The longest funnel in funnel_definitions: how many step joins the funnel model unrolls.
    Read from the seed when dbt executes (parsing needs no database). -#}
{% macro funnel_max_steps() -%}
    {%- if execute -%}
        {%- set result = run_query("select max(step_number) from " ~ ref('funnel_definitions')) -%}
        {{ return(result.columns[0].values()[0] or 1) }}
    {%- else -%}
        {{ return(1) }}
    {%- endif -%}
{%- endmacro %}
