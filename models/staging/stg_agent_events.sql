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
-- Incremental: only event ids with a copy ingested since the last run are re-ranked: their
-- new copies against the copy stored for them, which won over all their older copies (the
-- ranking is a total order), so the older copies are never read again; the stored
-- copies_received and last_ingested_at count them.

with

{% if is_incremental() %}
stored_watermark as (
    select coalesce(max(last_ingested_at), {{ timestamp_min() }}) as last_ingested_at
    from {{ this }}
),

new_copies as (
    select
        *,
        cast(record as {{ dbt.type_string() }}) as record_text,
        1 as copies,
        ingested_at as copies_last_ingested_at
    from {{ source('connect', 'agent_events') }}
    where ingested_at > (select stored_watermark.last_ingested_at from stored_watermark)
),

stored_choices as (
    select event_id, event_timestamp, source_object, byte_offset, copies_received, last_ingested_at
    from {{ this }}
    where event_id in (select new_copies.event_id from new_copies)
),

stored_chosen_copies as (
    select
        raw_copies.*,
        cast(raw_copies.record as {{ dbt.type_string() }}) as record_text,
        stored_choices.copies_received as copies,
        stored_choices.last_ingested_at as copies_last_ingested_at
    from {{ source('connect', 'agent_events') }} as raw_copies
    inner join stored_choices
        on raw_copies.event_id = stored_choices.event_id
        and raw_copies.source_object = stored_choices.source_object
        and raw_copies.byte_offset = stored_choices.byte_offset
    -- (the stored copy's own time and arrival: lets the scan skip the older row groups)
    where
        raw_copies.event_timestamp
        >= (select min(earliest.event_timestamp) from stored_choices as earliest)
        and raw_copies.ingested_at
        <= (select stored_watermark.last_ingested_at from stored_watermark)
),

received_copies as (
    select * from new_copies
    union all
    select * from stored_chosen_copies
),
{% else %}
received_copies as (
    select
        *,
        cast(record as {{ dbt.type_string() }}) as record_text,
        1 as copies,
        ingested_at as copies_last_ingested_at
    from {{ source('connect', 'agent_events') }}
),
{% endif %}

ranked_copies as (
    select
        *,
        sum(copies) over (partition by event_id) as copies_received,
        max(copies_last_ingested_at) over (partition by event_id) as last_ingested_at,
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
