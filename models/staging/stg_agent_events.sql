{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='event_id',
    )
}}

-- One row per EventId. Firehose delivers at least once, so raw.agent_events can hold
-- several copies of an event; when they differ, the longest record wins, then the
-- lexically smallest record text, so the choice never depends on arrival order.
-- Incremental: only event ids with a copy ingested since the last run are re-ranked
-- (over all of their copies, old and new).

with

{% if is_incremental() %}
stored_watermark as (
    select coalesce(max(last_ingested_at), {{ timestamp_min() }}) as last_ingested_at
    from {{ this }}
),

newly_received_event_ids as (
    select distinct event_id
    from {{ source('connect', 'agent_events') }}
    where ingested_at > (select stored_watermark.last_ingested_at from stored_watermark)
),
{% endif %}

received_copies as (
    select
        *,
        cast(record as {{ dbt.type_string() }}) as record_text
    from {{ source('connect', 'agent_events') }}
    {% if is_incremental() %}
    where event_id in (select newly_received_event_ids.event_id from newly_received_event_ids)
    {% endif %}
),

ranked_copies as (
    select
        *,
        count(*) over (partition by event_id) as copies_received,
        max(ingested_at) over (partition by event_id) as last_ingested_at,
        row_number() over (
            partition by event_id
            order by length(record_text) desc, record_text asc, source_object asc, byte_offset asc
        ) as copy_rank
    from received_copies
),

final as (
    select
        event_id,
        upper(event_type) as event_type,
        cast(event_timestamp as {{ type_timestamptz() }}) as event_timestamp,
        version as event_version,
        aws_account_id,
        agent_arn,
        agent_id,
        instance_arn,
        has_previous_snapshot,
        current_status_arn,
        current_status_name,
        current_status_type,
        current_status_started_at,
        current_next_status_arn,
        current_next_status_name,
        current_next_status_enqueued_at,
        current_username,
        current_first_name,
        current_last_name,
        current_hierarchy_level1_arn,
        current_hierarchy_level1_name,
        current_hierarchy_level2_arn,
        current_hierarchy_level2_name,
        current_hierarchy_level3_arn,
        current_hierarchy_level3_name,
        current_hierarchy_level4_arn,
        current_hierarchy_level4_name,
        current_hierarchy_level5_arn,
        current_hierarchy_level5_name,
        current_routing_profile_arn,
        current_routing_profile_name,
        current_contact_count,
        previous_status_arn,
        previous_status_name,
        previous_status_type,
        previous_status_started_at,
        previous_next_status_arn,
        previous_next_status_name,
        previous_next_status_enqueued_at,
        previous_username,
        previous_first_name,
        previous_last_name,
        previous_hierarchy_level1_arn,
        previous_hierarchy_level1_name,
        previous_hierarchy_level2_arn,
        previous_hierarchy_level2_name,
        previous_hierarchy_level3_arn,
        previous_hierarchy_level3_name,
        previous_hierarchy_level4_arn,
        previous_hierarchy_level4_name,
        previous_hierarchy_level5_arn,
        previous_hierarchy_level5_name,
        previous_routing_profile_arn,
        previous_routing_profile_name,
        previous_contact_count,
        current_routing_profile_configuration_key,
        previous_routing_profile_configuration_key,
        source_object,
        byte_offset,
        ingested_at,
        copies_received::integer as copies_received,
        last_ingested_at
    from ranked_copies
    where copy_rank = 1
)

select * from final
