{#- The marketing channel that brought a visit, from its campaign tags and referrer
    (the usual GA-style default channel grouping, simplified), in this order: utm_medium
    cpc/ppc/paid_search/sem -> paid_search; paid_social/social_paid/cpm -> paid_social;
    display/banner/retargeting -> display; social/social_organic -> organic_social;
    email/newsletter -> email; affiliate/referral/partner -> referral; any other utm_medium ->
    other_campaign; else by referrer: a search engine -> organic_search, a social network ->
    organic_social, any other site -> referral; no tags and no referrer -> direct. The
    attribution marts (models/intermediate/int_marketing_touches.sql) use the same channels. -#}
{% macro acquisition_channel(utm_source, utm_medium, referrer) -%}
    case
        when {{ utm_medium }} in ('cpc', 'ppc', 'paid_search', 'sem') then 'paid_search'
        when {{ utm_medium }} in ('paid_social', 'social_paid', 'cpm') then 'paid_social'
        when {{ utm_medium }} in ('display', 'banner', 'retargeting') then 'display'
        when {{ utm_medium }} in ('social', 'social_organic') then 'organic_social'
        when {{ utm_medium }} in ('email', 'newsletter') then 'email'
        when {{ utm_medium }} in ('affiliate', 'referral', 'partner') then 'referral'
        when {{ utm_medium }} is not null then 'other_campaign'
        when {{ referrer }} like '%google.%' or {{ referrer }} like '%bing.%'
            or {{ referrer }} like '%duckduckgo.%' then 'organic_search'
        when {{ referrer }} like '%facebook.%' or {{ referrer }} like '%instagram.%'
            or {{ referrer }} like '%linkedin.%' or {{ referrer }} like '%t.co%' then 'organic_social'
        when {{ referrer }} is not null then 'referral'
        else 'direct'
    end
{%- endmacro %}
