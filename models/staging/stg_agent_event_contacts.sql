-- One row per contact in a snapshot of the chosen copy of each event
-- (children of the other Firehose copies are dropped).

with

contacts as (
    select * from {{ source('connect', 'agent_event_contacts') }}
),

chosen_copies as (
    select event_id, source_object, byte_offset
    from {{ ref('stg_agent_events') }}
),

final as (
    select
        contacts.event_id,
        contacts.snapshot,
        contacts.contact_position,
        contacts.contact_id,
        contacts.initial_contact_id,
        upper(contacts.channel) as channel,
        upper(contacts.initiation_method) as initiation_method,
        upper(contacts.state) as contact_state,
        contacts.state_started_at,
        contacts.connected_to_agent_at,
        contacts.queued_at,
        contacts.queue_arn,
        contacts.queue_name
    from contacts
    inner join chosen_copies
        on contacts.event_id = chosen_copies.event_id
        and contacts.source_object = chosen_copies.source_object
        and contacts.byte_offset = chosen_copies.byte_offset
)

select * from final
