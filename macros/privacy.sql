{#- Personal data stops in staging: identifiers leave it as keyed pseudonyms and free text with
    its emails, card and phone numbers masked, so every later layer only ever sees those.
    Both functions are journeymap.privacy's, registered on dbt's DuckDB connection by the
    journeymap.dbt_plugin plugin (profiles.yml); on Snowflake they are secure UDFs of the same
    names (README, "Privacy and data protection"). Staging models that call them are tables,
    so readers of staging need no function. -#}

{#- The keyed pseudonym (HMAC-SHA256, 32 hex characters) of an identifier; null stays null. -#}
{% macro pseudonym(expression) -%}
    journeymap_pseudonym({{ expression }})
{%- endmacro %}

{#- Free text with emails, Luhn-valid card numbers and phone numbers replaced by [email],
    [card] and [phone] (journeymap.privacy.mask_text). -#}
{% macro mask_text(expression) -%}
    journeymap_mask({{ expression }})
{%- endmacro %}
