-- SCD type 2 of routing profiles, built from event times (not the run's clock): a new
-- version starts at the first event that shows a different name, maximum slots of a
-- channel, default outbound queue or set of inbound queues.

with

observations as (
    select * from {{ ref('int_routing_profile_observations') }}
),

compared_with_previous as (
    select
        *,
        lag(attributes_hash) over (
            partition by routing_profile_arn order by observed_at, event_id
        ) as previous_attributes_hash
    from observations
),

version_starts as (
    select *
    from compared_with_previous
    where previous_attributes_hash is null or previous_attributes_hash <> attributes_hash
),

versions as (
    select
        *,
        row_number() over profile_history as version_number,
        lead(observed_at) over profile_history as next_version_from
    from version_starts
    window profile_history as (partition by routing_profile_arn order by observed_at, event_id)
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
