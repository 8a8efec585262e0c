{#- The segments week by week (ml.persona_snapshots), one row per week and segment. -#}
with source as (

    select * from {{ journeymap.ml_output('persona_snapshots') }} as persona_snapshots

),

renamed as (

    select
        week_start,
        segment_id,
        persona_name,
        customers,
        share,
        mean_churn_score,
        mean_predicted_value,
        top_difference,
        is_backfilled,
        snapshot_at,
        model_version,
        recorded_at

    from source

)

select * from renamed
