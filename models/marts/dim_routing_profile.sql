-- SCD type 2 of routing profiles, built from event times (not the run's clock): a new
-- version starts at the first event that shows a different name, maximum slots of a
-- channel, default outbound queue or set of inbound queues.

with

routing_profile_versions as (
    {{ scd2_versions(
        ref('int_routing_profile_observations'), 'routing_profile_arn', 'routing_profile_key'
    ) }}
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
        is_current
    from routing_profile_versions
)

select * from final
