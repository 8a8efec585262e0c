{#- Per-owner incremental models: a daily run rebuilds only the devices or customers whose
    events changed, and every such model finds them the same way.

    Each of these models carries `processed_at`: the time it rebuilt a row, or
    (int_sessions_aggregated) the latest processing time of the row's events. Either way
    `max(processed_at)` of the model is no later than its last run, so int_events_sessionized
    rows processed after it include all the news the model has not seen (and at worst some it
    has, which it rebuilds to the same rows). -#}

{#- When this model last ran; a model with no rows yet takes everything as new. -#}
{% macro last_processed_at() -%}
    (select coalesce(max(processed_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) from {{ this }})
{%- endmacro %}

{#- The macros below take the relations they read as arguments: each model names what it
    reads at its top (`set events = ref(...)`), so dbt sees every dependency of both the full
    and the incremental branch without `depends_on` comments. -#}

{#- Customers with a conversion processed since this model last ran: a session's `converted`
    looks at its customer's orders, so their sessions change too. -#}
{% macro customers_with_new_conversions(events) -%}
    select customer_key
    from {{ events }}
    where processed_at > {{ journeymap.last_processed_at() }}
        and is_conversion
{%- endmacro %}

{#- The devices (session_partition) whose sessions may have changed since this model last ran:
    devices with new or reprocessed events, and every device of a customer with a new
    conversion (a session's `converted` looks at its customer's orders). A session never spans
    devices, so rebuilding whole devices recuts sessions exactly. -#}
{% macro session_partitions_changed_since_last_run(events) -%}
    select session_partition
    from {{ events }}
    where processed_at > {{ journeymap.last_processed_at() }}
        and session_partition is not null

    union

    select changed.session_partition
    from {{ events }} as changed
    where changed.session_partition is not null
        and changed.customer_key in ({{ journeymap.customers_with_new_conversions(events) }})
{%- endmacro %}

{#- The sessions whose path may have changed since this model last ran: sessions with new or
    reprocessed events (int_events_sessionized reprocesses every event of a device from a late
    event on, so a recut session always has some), and the sessions of a customer with a new
    conversion. -#}
{% macro sessions_changed_since_last_run(events, sessions) -%}
    select session_key
    from {{ events }}
    where processed_at > {{ journeymap.last_processed_at() }}
        and session_key is not null

    union

    select session_key
    from {{ sessions }}
    where customer_key in ({{ journeymap.customers_with_new_conversions(events) }})
{%- endmacro %}

{#- The customers whose events changed since this model last ran: int_customer_activity
    rebuilds a customer (and stamps it) when any of their events is new, reprocessed or gone.
    Customers who vanished (an anonymous key stitched to a known customer) are removed by the
    `delete_vanished_owners` post-hook. -#}
{% macro customers_changed_since_last_run(activity) -%}
    select customer_key
    from {{ activity }}
    where processed_at > {{ journeymap.last_processed_at() }}
{%- endmacro %}

{#- The full build of a per-owner model keeps the owners of the current slice: one slice per
    `build_slice_rows` events (macros/build_slices.sql), so an owner's rows always land in one
    slice; `true` when the events fit in one. -#}
{% macro in_owner_build_slice(owner_column, events) -%}
    {{ journeymap.in_build_slice(
        owner_column,
        journeymap.build_slice_count('select count(*) from ' ~ events),
    ) }}
{%- endmacro %}

{#- A predicate keeping the rows of the customers this run rebuilds: the changed customers in
    an incremental run, everyone in a full build (in customer slices when the events are big). -#}
{% macro is_rebuilt_customer(customer_column, activity, events) -%}
    {%- if is_incremental() -%}
        {{ customer_column }} in ({{ journeymap.customers_changed_since_last_run(activity) }})
    {%- else -%}
        {{ journeymap.in_owner_build_slice(customer_column, events) }}
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of per-owner incremental models: delete+insert replaces the owners a run
    rebuilt, but an owner with nothing left (an `anon:` key whose device is now known, a
    session merged into an earlier one by a late event) produces no row to replace; this
    removes the rows whose owner is no longer in `owners_model`. Harmless after a full build.
    Returned as a hook string, rendered when the hook runs. -#}
{% macro delete_vanished_owners(owner_column, owners_model, owners_column, where='true') -%}
    {{ return(
        "delete from {{ this }} where " ~ where ~ " and " ~ owner_column
        ~ " not in (select " ~ owners_column ~ " from {{ ref('" ~ owners_model ~ "') }})"
    ) }}
{%- endmacro %}

{#- The one configuration of every incremental model: delete+insert on `unique_key`, a
    failure on schema drift, transient temporary relations (Snowflake), any post-hooks the
    model needs, the record of the settings it was built with (`settings`: the vars its rows
    depend on; seeds upstream and its SQL count by themselves, macros/settings_state.sql) and a
    checkpoint after the merge (below). -#}
{% macro incremental_config(unique_key, post_hook=[], settings=[]) -%}
    {{ config(
        materialized='incremental',
        unique_key=unique_key,
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        tmp_relation_type='transient',
        meta={'journeymap_settings': settings},
        post_hook=post_hook + ['{{ journeymap.record_settings() }}', journeymap.checkpoint_after_merge()],
    ) }}
{%- endmacro %}

{#- After an incremental model's merge on DuckDB, write it into the database file at once.
    DuckDB checkpoints on commit only when no other write transaction is open, and with dbt's
    two threads one usually is: a merge's deletes then stay in memory as version info, and at
    100M events a daily run ran out of its memory bound in the next query. FORCE CHECKPOINT
    waits for the other thread's transaction to finish instead of failing like CHECKPOINT.
    Other warehouses need nothing here (an empty hook is skipped). -#}
{% macro checkpoint_after_merge() -%}
    {{ return({'sql': '{{ journeymap.checkpoint_if_merged() }}', 'transaction': false}) }}
{%- endmacro %}

{% macro checkpoint_if_merged() -%}
    {{ adapter.dispatch('checkpoint_if_merged', 'journeymap')() }}
{%- endmacro %}

{% macro default__checkpoint_if_merged() -%}
{%- endmacro %}

{#- Only after a merge: dbt-duckdb merges from a temporary table (`<model>__dbt_tmp<time>`)
    that it leaves in the model's connection. First builds and full refreshes create none, and
    there a checkpoint would only make one thread wait for the other. -#}
{% macro duckdb__checkpoint_if_merged() -%}
    {%- if execute -%}
        {%- set merged = run_query(
            "select count(*) from duckdb_tables() where temporary and table_name like '"
            ~ this.identifier ~ "\\_\\_dbt\\_tmp%' escape '\\'"
        ).columns[0].values()[0] -%}
        {%- if merged %}force checkpoint{% endif -%}
    {%- endif -%}
{%- endmacro %}
