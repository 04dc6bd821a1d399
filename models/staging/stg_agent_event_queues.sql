-- One row per inbound or default-outbound queue of a routing-profile configuration
-- (stored once per configuration; events reference it by key).

with

queues as (
    select * from {{ source('connect', 'agent_event_queues') }}
),

final as (
    select
        routing_profile_configuration_key,
        queue_arn,
        queue_name,
        channels,
        is_default_outbound
    from queues
)

select * from final
