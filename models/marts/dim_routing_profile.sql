{%- set attributes = [
    'routing_profile_name', 'voice_max_slots', 'chat_max_slots', 'task_max_slots',
    'channel_max_slots', 'default_outbound_queue_arn', 'inbound_queue_arns',
] -%}

{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='window_replace',
        unique_key='routing_profile_key',
        window_column='last_seen_at',
        stale_rows='valid_from >= {window_start}',
    )
}}

-- SCD type 2 of routing profiles, built from event times (not the run's clock): a new
-- version starts at the first event that shows a different name, maximum slots of a
-- channel, default outbound queue or set of inbound queues.
--
-- Incremental: as dim_agent (observations of the look-back window, seeded per profile
-- with the version in force at its start; the window's stored versions replaced).

with

observations as (
    {{ scd2_observations(
        ref('int_routing_profile_observations'), 'routing_profile_arn', attributes
    ) }}
),

routing_profile_versions as (
    {{ scd2_versions('observations', 'routing_profile_arn', 'routing_profile_key') }}
),

final as (
    select
        routing_profile_key,
        routing_profile_arn,
        version_number,
        routing_profile_name,
        voice_max_slots,
        chat_max_slots,
        task_max_slots,
        channel_max_slots,
        default_outbound_queue_arn,
        inbound_queue_arns,
        valid_from,
        valid_to,
        is_current,
        attributes_hash,
        last_seen_at
    from routing_profile_versions
)

select * from final
