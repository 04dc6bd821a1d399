-- One row per inbound or default-outbound queue of a snapshot's routing profile,
-- chosen copy of each event only.

with

queues as (
    select * from {{ source('connect', 'agent_event_queues') }}
),

chosen_copies as (
    select event_id, source_object, byte_offset
    from {{ ref('stg_agent_events') }}
),

final as (
    select
        queues.event_id,
        queues.snapshot,
        queues.queue_arn,
        queues.queue_name,
        queues.channels,
        queues.is_default_outbound
    from queues
    inner join chosen_copies
        on queues.event_id = chosen_copies.event_id
        and queues.source_object = chosen_copies.source_object
        and queues.byte_offset = chosen_copies.byte_offset
)

select * from final
