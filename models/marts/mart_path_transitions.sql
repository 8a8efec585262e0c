{#- Step-to-step flows between canonical events, position by position, for a Sankey diagram:
    node "2. product_viewed" flows to node "3. product_added" for so many paths. The last step of
    a path flows to "converted" or "dropped off"; a path longer than var max_path_steps is cut
    there and its last step shown flows to "continues" (it neither converted nor stopped
    there). -#}

with steps as (

    select * from {{ ref('int_path_steps') }}
    where step_index <= {{ var('max_path_steps') }}

),

-- The step at the cut has no next step within the diagram.
with_next as (

    select
        path_grain,
        step_index,
        canonical_event,
        converted,
        step_index = {{ var('max_path_steps') }} and path_step_count > step_index as is_cut,
        case when step_index < {{ var('max_path_steps') }} then next_event end as next_event
    from steps

),

transitions as (

    select
        path_grain,
        step_index,
        canonical_event as from_event,
        coalesce(
            next_event,
            case when is_cut then 'continues' when converted then 'converted' else 'dropped off' end
        ) as to_event,
        next_event is null as is_path_end
    from with_next

),

final as (

    select
        {{ journeymap.surrogate_key(['path_grain', 'step_index', 'from_event', 'to_event']) }}
            as transition_key,
        path_grain,
        step_index,
        from_event,
        to_event,
        cast(step_index as {{ dbt.type_string() }}) || '. ' || from_event as source_node,
        case
            when is_path_end then to_event
            else cast(step_index + 1 as {{ dbt.type_string() }}) || '. ' || to_event
        end as target_node,
        is_path_end,
        count(*) as paths
    from transitions
    group by path_grain, step_index, from_event, to_event, is_path_end

)

select * from final
