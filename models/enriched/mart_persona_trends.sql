{#- The personas week by week (ml.persona_snapshots) with what changed since the week
    before: customers and share gained or lost, churn risk and value moved, and the biggest
    change of each week called out (rank 1 by the share moved, then by customers). -#}

with snapshots as (

    select * from {{ ref('stg_ml__persona_snapshots') }}

),

cards as (

    select * from {{ ref('stg_ml__persona_cards') }}

),

compared as (

    select
        snapshots.*,
        lag(snapshots.customers) over (
            partition by snapshots.segment_id order by snapshots.week_start
        ) as previous_customers,
        lag(snapshots.share) over (
            partition by snapshots.segment_id order by snapshots.week_start
        ) as previous_share,
        lag(snapshots.mean_churn_score) over (
            partition by snapshots.segment_id order by snapshots.week_start
        ) as previous_mean_churn_score
    from snapshots

),

changes as (

    select
        compared.*,
        compared.customers - coalesce(compared.previous_customers, 0) as customers_change,
        compared.share - coalesce(compared.previous_share, 0) as share_change,
        compared.mean_churn_score - compared.previous_mean_churn_score as churn_score_change
    from compared

),

ranked as (

    select
        changes.*,
        row_number() over (
            partition by changes.week_start
            order by abs(changes.share_change) desc, abs(changes.customers_change) desc,
                changes.segment_id
        ) as change_rank
    from changes

),

final as (

    select
        {{ journeymap.surrogate_key(['ranked.week_start', 'ranked.segment_id']) }}
            as persona_trend_key,
        ranked.week_start,
        ranked.segment_id,
        coalesce(cards.persona_name, ranked.persona_name) as persona_name,
        ranked.persona_name as persona_name_that_week,
        ranked.customers,
        ranked.share,
        ranked.previous_customers,
        ranked.customers_change,
        ranked.share_change,
        ranked.mean_churn_score,
        ranked.churn_score_change,
        ranked.mean_predicted_value,
        ranked.top_difference,
        ranked.change_rank,
        ranked.change_rank = 1 as is_biggest_change,
        {{ dbt.concat([
            "coalesce(cards.persona_name, ranked.persona_name)",
            "case when ranked.previous_customers is null then ' appeared with '"
            ~ " when ranked.customers_change >= 0 then ' grew by ' else ' shrank by ' end",
            "cast(abs(case when ranked.previous_customers is null then ranked.customers"
            ~ " else ranked.customers_change end) as " ~ dbt.type_string() ~ ")",
            "case when abs(ranked.customers_change) = 1 and ranked.previous_customers is not null"
            ~ " then ' customer' else ' customers' end",
            "case when ranked.previous_customers is null then ''"
            ~ " else " ~ dbt.concat([
                "' (share '",
                "case when ranked.share_change >= 0 then '+' else '' end",
                "cast(round(ranked.share_change * 100, 1) as " ~ dbt.type_string() ~ ")",
                "' points)'",
            ]) ~ " end",
        ]) }} as change_summary,
        ranked.is_backfilled,
        ranked.snapshot_at,
        ranked.model_version
    from ranked
    left join cards on ranked.segment_id = cards.segment_id

)

select * from final
