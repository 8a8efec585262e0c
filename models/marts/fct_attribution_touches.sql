{#- One row per conversion, touch of its (transformed) path and heuristic attribution model:
    the touch's share of the conversion (credit) and of its revenue. For a path of n touches
    at positions 1..n:
    - first_touch: 1 to the first touch; last_touch: 1 to the last;
    - linear: 1/n each;
    - time_decay: weights 0.5^(d / h), d the days from the touch to the conversion and h var
      attribution_half_life_days (7), divided by their sum;
    - position_based: one touch 1; two touches 0.5 each; three or more: the first and the last
      var attribution_position_end_share (0.4) each, the middle ones the rest in equal parts.
    Credits of a conversion sum to 1 in every model, attributed revenue to its revenue (a dbt
    test checks both for every conversion). A conversion with no touch in the lookback is
    credited to the channel and campaign `(none)`. -#}

{%- set half_life = var('attribution_half_life_days') | float %}
{%- set end_share = var('attribution_position_end_share') | float %}
{%- if half_life <= 0 %}
    {{ exceptions.raise_compiler_error('var attribution_half_life_days must be positive, not ' ~ half_life) }}
{%- endif %}
{%- if end_share < 0 or end_share > 0.5 %}
    {{ exceptions.raise_compiler_error('var attribution_position_end_share must be in [0, 0.5], not ' ~ end_share) }}
{%- endif %}
{%- set models = ['first_touch', 'last_touch', 'linear', 'time_decay', 'position_based'] %}

with conversions as (

    select * from {{ ref('int_attribution_conversions') }}

),

path_touches as (

    select * from {{ ref('int_attribution_path_touches') }}
    where conversion_key is not null

),

attribution_models as (

    {% for model in models -%}
    select '{{ model }}' as attribution_model
    {% if not loop.last %}union all
    {% endif %}
    {%- endfor %}

),

decayed as (

    select
        *,
        {{ journeymap.hours_between('touched_at', 'converted_at') }} / 24.0 as days_before_conversion,
        power(0.5, {{ journeymap.hours_between('touched_at', 'converted_at') }} / 24.0 / {{ half_life }})
            as decay_weight
    from path_touches

),

weighted as (

    select
        *,
        decay_weight / sum(decay_weight) over (partition by conversion_key) as decay_share
    from decayed

),

credited as (

    select
        weighted.conversion_key,
        weighted.touch_key,
        weighted.touched_at,
        weighted.touch_type,
        weighted.channel,
        weighted.campaign,
        weighted.path_position,
        weighted.path_touches,
        weighted.days_before_conversion,
        attribution_models.attribution_model,
        case attribution_models.attribution_model
            when 'first_touch' then case when weighted.path_position = 1 then 1.0 else 0.0 end
            when 'last_touch'
                then case when weighted.path_position = weighted.path_touches then 1.0 else 0.0 end
            when 'linear' then 1.0 / weighted.path_touches
            when 'time_decay' then weighted.decay_share
            when 'position_based' then
                case
                    when weighted.path_touches = 1 then 1.0
                    when weighted.path_touches = 2 then 0.5
                    when weighted.path_position in (1, weighted.path_touches) then {{ end_share }}
                    else (1.0 - 2 * {{ end_share }}) / (weighted.path_touches - 2)
                end
        end as credit
    from weighted
    cross join attribution_models

),

unattributed as (

    select
        conversions.conversion_key,
        cast(null as {{ dbt.type_string() }}) as touch_key,
        cast(null as {{ dbt.type_timestamp() }}) as touched_at,
        cast(null as {{ dbt.type_string() }}) as touch_type,
        '(none)' as channel,
        '(none)' as campaign,
        cast(null as {{ dbt.type_int() }}) as path_position,
        0 as path_touches,
        cast(null as {{ dbt.type_float() }}) as days_before_conversion,
        attribution_models.attribution_model,
        1.0 as credit
    from conversions
    cross join attribution_models
    where not exists (
        select 1 from path_touches where path_touches.conversion_key = conversions.conversion_key
    )

),

all_credits as (

    select * from credited
    union all
    select * from unattributed

),

final as (

    select
        {{ journeymap.surrogate_key([
            'all_credits.conversion_key', 'all_credits.touch_key', 'all_credits.attribution_model'
        ]) }} as attribution_touch_key,
        all_credits.conversion_key,
        conversions.customer_key,
        conversions.converted_at,
        all_credits.attribution_model,
        all_credits.touch_key,
        all_credits.touched_at,
        all_credits.touch_type,
        all_credits.channel,
        all_credits.campaign,
        all_credits.path_position,
        all_credits.path_touches,
        all_credits.days_before_conversion,
        all_credits.credit,
        all_credits.credit * conversions.revenue as attributed_revenue
    from all_credits
    inner join conversions on all_credits.conversion_key = conversions.conversion_key

)

select * from final
