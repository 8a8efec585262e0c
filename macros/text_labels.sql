{#- The emotions of the text model (journeymap.ml.text.labels.EMOTIONS, in that order; a unit
    test keeps the two equal): the columns of the emotion mix in mart_emotional_journey. -#}
{% macro text_emotions() -%}
    {{ return([
        "frustration", "confusion", "anxiety", "disappointment", "satisfaction", "delight",
        "neutral"
    ]) }}
{%- endmacro %}
