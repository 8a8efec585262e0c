{#- The segmentation's memberships (ml.customer_segments), one row per segmented customer. -#}
with source as (

    select * from {{ journeymap.ml_output('customer_segments') }} as customer_segments

),

renamed as (

    select
        customer_key,
        segment_id,
        persona_name,
        membership_probability as segment_membership_probability,
        previous_segment_id,
        loaded_through as segments_loaded_through,
        model_version as segment_model_version,
        scored_at as segmented_at

    from source

)

select * from renamed
