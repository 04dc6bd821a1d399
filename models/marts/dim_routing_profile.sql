-- SCD type 2 of routing profiles, built from event times (not the run's clock): a new
-- version starts at the first event that shows a different name, maximum slots of a
-- channel, default outbound queue or set of inbound queues.

with

observations as (
    select * from {{ ref('int_routing_profile_observations') }}
),

versions as (
    {{ scd2_versions('observations', 'routing_profile_arn') }}
),

final as (
    select
        md5(
            routing_profile_arn || '|' || epoch_us(observed_at)::varchar || '|' || attributes_hash
        ) as routing_profile_key,
        routing_profile_arn,
        version_number,
        routing_profile_name,
        voice_max_slots,
        chat_max_slots,
        task_max_slots,
        channel_max_slots,
        default_outbound_queue_arn,
        inbound_queue_arns,
        observed_at as valid_from,
        next_version_from as valid_to,
        next_version_from is null as is_current
    from versions
)

select * from final
