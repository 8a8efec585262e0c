{#- The touches that make each path after the path transforms, with their position: what the
    heuristic models credit and the transformed paths show. In this order:
    1. var attribution_drop_direct (default false): `direct` touches leave a path that has any
       other touch (a path of only direct visits keeps them);
    2. var attribution_collapse_repeats (default true): a run of consecutive touches of one
       channel counts once, its latest touch standing for it (so last touch stays the last);
    3. var attribution_max_touches (default null: all) with var attribution_keep_touches
       (`last`, default, or `first`): only the last (first) N touches remain.
    A path is a journey's touches within the lookback (int_attribution_journey_touches). -#}

{%- set drop_direct = var('attribution_drop_direct') %}
{%- set collapse_repeats = var('attribution_collapse_repeats') %}
{%- set max_touches = var('attribution_max_touches') %}
{%- set keep = var('attribution_keep_touches') %}
{%- if keep not in ('first', 'last') %}
    {{ exceptions.raise_compiler_error("var attribution_keep_touches must be 'first' or 'last', not '" ~ keep ~ "'") }}
{%- endif %}
{%- if max_touches is not none and (max_touches | int) < 1 %}
    {{ exceptions.raise_compiler_error('var attribution_max_touches must be at least 1 or null, not ' ~ max_touches) }}
{%- endif %}
{%- set path_order = 'partition by journey_key order by touched_at, touch_key' %}
{%- set touch_columns = [
    'touch_key', 'journey_key', 'customer_key', 'conversion_key', 'converted_at', 'touched_at',
    'touch_type', 'channel', 'campaign',
] %}

with journey_touches as (

    select {{ touch_columns | join(', ') }}
    from {{ ref('int_attribution_journey_touches') }}
    where is_in_path

),

without_direct as (

    select *
    from (
        select
            *,
            max(case when channel <> 'direct' then 1 else 0 end) over (partition by journey_key)
                as has_other_channel
        from journey_touches
    ) as flagged
    {% if drop_direct %}
    where channel <> 'direct' or has_other_channel = 0
    {% endif %}

),

collapsed as (

    select *
    from (
        select
            *,
            lead(channel) over ({{ path_order }}) as next_channel
        from without_direct
    ) as runs
    {% if collapse_repeats %}
    where next_channel is null or next_channel <> channel
    {% endif %}

),

trimmed as (

    select *
    from (
        select
            *,
            row_number() over (
                partition by journey_key
                order by touched_at {{ 'desc' if keep == 'last' else 'asc' }},
                    touch_key {{ 'desc' if keep == 'last' else 'asc' }}
            ) as rank_from_kept_end
        from collapsed
    ) as ranked
    {% if max_touches is not none %}
    where rank_from_kept_end <= {{ max_touches | int }}
    {% endif %}

),

final as (

    select
        {{ touch_columns | join(', ') }},
        row_number() over ({{ path_order }}) as path_position,
        count(*) over (partition by journey_key) as path_touches
    from trimmed

)

select * from final
