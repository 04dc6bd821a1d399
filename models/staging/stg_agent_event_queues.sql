-- One row per inbound or default-outbound queue of a snapshot's routing profile,
-- chosen copy of each event only.

with

queues as (
    {{ chosen_copy_rows('agent_event_queues') }}
),

final as (
    select
        event_id,
        snapshot,
        queue_arn,
        queue_name,
        channels,
        is_default_outbound
    from queues
)

select * from final
