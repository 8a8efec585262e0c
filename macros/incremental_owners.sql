{#- Per-owner incremental models: a daily run rebuilds only the devices or customers whose
    events changed, and every such model finds them the same way.

    Each of these models carries `processed_at`: the time it rebuilt a row, or (fct_sessions)
    the latest processing time of the row's events. Either way `max(processed_at)` of the model
    is no later than its last run, so fct_events rows processed after it include all the news
    the model has not seen (and at worst some it has, which it rebuilds to the same rows). -#}

{#- When this model last ran; a model with no rows yet takes everything as new. -#}
{% macro last_processed_at() -%}
    (select coalesce(max(processed_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) from {{ this }})
{%- endmacro %}

{#- Customers with a conversion processed since this model last ran: a session's `converted`
    looks at its customer's orders, so their sessions change too. -#}
{% macro customers_with_new_conversions() -%}
    select customer_key
    from {{ ref('fct_events') }}
    where processed_at > {{ journeymap.last_processed_at() }}
        and is_conversion
{%- endmacro %}

{#- The devices (session_partition) whose sessions may have changed since this model last ran:
    devices with new or reprocessed events, and every device of a customer with a new
    conversion (a session's `converted` looks at its customer's orders). A session never spans
    devices, so rebuilding whole devices recuts sessions exactly. -#}
{% macro session_partitions_changed_since_last_run() -%}
    select session_partition
    from {{ ref('fct_events') }}
    where processed_at > {{ journeymap.last_processed_at() }}
        and session_partition is not null

    union

    select events.session_partition
    from {{ ref('fct_events') }} as events
    where events.session_partition is not null
        and events.customer_key in ({{ journeymap.customers_with_new_conversions() }})
{%- endmacro %}

{#- The sessions whose path may have changed since this model last ran: sessions with new or
    reprocessed events (fct_events reprocesses every event of a device from a late event on,
    so a recut session always has some), and the sessions of a customer with a new conversion. -#}
{% macro sessions_changed_since_last_run() -%}
    select session_key
    from {{ ref('fct_events') }}
    where processed_at > {{ journeymap.last_processed_at() }}
        and session_key is not null

    union

    select session_key
    from {{ ref('fct_sessions') }}
    where customer_key in ({{ journeymap.customers_with_new_conversions() }})
{%- endmacro %}

{#- The customers whose events changed since this model last ran: int_customer_activity
    rebuilds a customer (and stamps it) when any of their events is new, reprocessed or gone.
    Customers who vanished (an anonymous key stitched to a known customer) are removed by
    `delete_vanished_customers`. -#}
{% macro customers_changed_since_last_run() -%}
    select customer_key
    from {{ ref('int_customer_activity') }}
    where processed_at > {{ journeymap.last_processed_at() }}
{%- endmacro %}

{#- The full build of a per-owner model keeps the owners of the current slice: one slice per
    `build_slice_rows` events of fct_events (macros/build_slices.sql), so an owner's rows
    always land in one slice; `true` when fct_events fits in one. -#}
{% macro in_owner_build_slice(owner_column) -%}
    {{ journeymap.in_build_slice(
        owner_column,
        journeymap.build_slice_count('select count(*) from ' ~ ref('fct_events')),
    ) }}
{%- endmacro %}

{#- A predicate keeping the rows of the customers this run rebuilds: the changed customers in
    an incremental run, everyone in a full build (in customer slices when fct_events is big). -#}
{% macro is_rebuilt_customer(customer_column) -%}
    {%- if is_incremental() -%}
        {{ customer_column }} in ({{ journeymap.customers_changed_since_last_run() }})
    {%- else -%}
        {{ journeymap.in_owner_build_slice(customer_column) }}
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of per-owner incremental models: delete+insert replaces the owners a run
    rebuilt, but an owner with nothing left (an `anon:` key whose device is now known, a
    session merged into an earlier one by a late event) produces no row to replace; this
    removes the rows whose owner is no longer in `owners_relation`. Harmless after a full build. -#}
{% macro delete_vanished_owners(owner_column, owners_relation, owners_column, where='true') -%}
    delete from {{ this }}
    where {{ where }}
        and {{ owner_column }} not in (select {{ owners_column }} from {{ owners_relation }})
{%- endmacro %}

{% macro delete_vanished_customers(customers_relation) -%}
    {{ journeymap.delete_vanished_owners('customer_key', customers_relation, 'customer_key') }}
{%- endmacro %}

{% macro delete_vanished_sessions(where='true') -%}
    {{ journeymap.delete_vanished_owners('path_owner_key', ref('fct_sessions'), 'session_key', where) }}
{%- endmacro %}

{#- The configuration every per-owner incremental model shares: delete+insert of the owners
    a run rebuilt, and the post-hook(s) that remove owners with nothing left. -#}
{% macro per_owner_incremental_config(unique_key, post_hook) -%}
    {%- set post_hooks = [post_hook] if post_hook is string else post_hook -%}
    {{ config(
        materialized='incremental',
        unique_key=unique_key,
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        tmp_relation_type='transient',
        post_hook=post_hooks + [journeymap.checkpoint_after_merge()],
    ) }}
{%- endmacro %}

{% macro per_customer_incremental_config() -%}
    {{ journeymap.per_owner_incremental_config(
        'customer_key',
        "{{ journeymap.delete_vanished_customers(ref('int_customer_activity')) }}",
    ) }}
{%- endmacro %}

{#- After an incremental model's merge on DuckDB, write it into the database file at once.
    DuckDB checkpoints on commit only when no other write transaction is open, and with dbt's
    two threads one usually is: a merge's deletes then stay in memory as version info (a
    delete of 1 in 7 rows of a 20M-row table: 160 MiB, freed by the checkpoint), and at 100M
    events a daily run ran out of its 3GB bound in the next query. FORCE CHECKPOINT waits for
    the other thread's transaction to finish instead of failing like CHECKPOINT. -#}
{% macro checkpoint_after_merge() -%}
    {{ return({'sql': '{{ journeymap.checkpoint_if_merged() }}', 'transaction': false}) }}
{%- endmacro %}

{#- Only after a merge: dbt-duckdb merges from a temporary table (`<model>__dbt_tmp<time>`)
    that it leaves in the model's connection. First builds and full refreshes create none;
    there a checkpoint only made one thread wait for the other (+14 s on a 10M full build). -#}
{% macro checkpoint_if_merged() -%}
    {%- if execute and target.type == 'duckdb' -%}
        {%- set merged = run_query(
            "select count(*) from duckdb_tables() where temporary and table_name like '"
            ~ this.identifier ~ "\\_\\_dbt\\_tmp%' escape '\\'"
        ).columns[0].values()[0] -%}
        {%- if merged %}force checkpoint{% endif -%}
    {%- endif -%}
{%- endmacro %}
