{#- Funnel performance per step, overall and broken down by the device and channel of the
    funnel entry: customers who entered the step (reached the previous one), completed it,
    conversion and drop-off, and the median time from the previous step. -#}

{%- set breakdowns = {'all': "'all'", 'device_type': 'entry_device_type', 'channel': 'entry_channel'} %}

with progress as (

    select * from {{ ref('int_funnel_progress') }}

),

funnel_definitions as (

    select * from {{ ref('funnel_definitions') }}

),

labelled as (

    {% for breakdown, expression in breakdowns.items() %}
    select
        '{{ breakdown }}' as breakdown,
        {{ expression }} as breakdown_value,
        funnel_name,
        customer_key,
        step_number,
        {{ journeymap.hours_between('previous_reached_at', 'reached_at') }} as hours_from_previous
    from progress
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

reached as (

    select
        funnel_name,
        breakdown,
        breakdown_value,
        step_number,
        count(*) as completed,
        {{ journeymap.median('hours_from_previous') }} as median_hours_from_previous
    from labelled
    group by funnel_name, breakdown, breakdown_value, step_number

),

-- Every defined step for every breakdown value, so a step nobody reached shows as 0.
step_grid as (

    select
        entries.funnel_name,
        entries.breakdown,
        entries.breakdown_value,
        funnel_definitions.step_number,
        funnel_definitions.step_name,
        funnel_definitions.canonical_event,
        entries.completed as funnel_entries
    from reached as entries
    inner join funnel_definitions
        on entries.funnel_name = funnel_definitions.funnel_name
    where entries.step_number = 1

),

counted as (

    select
        step_grid.funnel_name,
        step_grid.step_number,
        step_grid.step_name,
        step_grid.canonical_event,
        step_grid.breakdown,
        step_grid.breakdown_value,
        step_grid.funnel_entries,
        case
            when step_grid.step_number = 1 then step_grid.funnel_entries
            else coalesce(previous_step.completed, 0)
        end as entered,
        coalesce(this_step.completed, 0) as completed,
        this_step.median_hours_from_previous
    from step_grid
    left join reached as this_step
        on step_grid.funnel_name = this_step.funnel_name
        and step_grid.breakdown = this_step.breakdown
        and step_grid.breakdown_value = this_step.breakdown_value
        and step_grid.step_number = this_step.step_number
    left join reached as previous_step
        on step_grid.funnel_name = previous_step.funnel_name
        and step_grid.breakdown = previous_step.breakdown
        and step_grid.breakdown_value = previous_step.breakdown_value
        and step_grid.step_number = previous_step.step_number + 1

),

final as (

    select
        {{ journeymap.surrogate_key(['funnel_name', 'breakdown', 'breakdown_value', 'step_number']) }}
            as funnel_step_key,
        funnel_name,
        step_number,
        step_name,
        canonical_event,
        breakdown,
        breakdown_value,
        entered,
        completed,
        entered - completed as dropped_off,
        {{ journeymap.safe_ratio('completed', 'entered') }} as conversion_from_previous,
        1 - {{ journeymap.safe_ratio('completed', 'entered') }} as drop_off_rate,
        {{ journeymap.safe_ratio('completed', 'funnel_entries') }} as conversion_from_entry,
        median_hours_from_previous
    from counted

)

select * from final
