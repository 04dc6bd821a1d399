-- One row per contact per snapshot in which an agent's contact list shows it, with the
-- event's agent and time. Previous snapshots keep states that no current snapshot shows
-- (and tell when a contact left the list).

with

contacts as (
    select * from {{ ref('stg_agent_event_contacts') }}
),

events as (
    select event_id, agent_arn, event_type, event_timestamp
    from {{ ref('stg_agent_events') }}
),

final as (
    select
        events.agent_arn,
        contacts.contact_id,
        contacts.event_id,
        events.event_type,
        events.event_timestamp as observed_at,
        contacts.snapshot,
        contacts.contact_state,
        contacts.state_started_at,
        contacts.initial_contact_id,
        contacts.channel,
        contacts.initiation_method,
        contacts.connected_to_agent_at,
        contacts.queued_at,
        contacts.queue_arn,
        contacts.queue_name
    from contacts
    inner join events
        on contacts.event_id = events.event_id
    where contacts.contact_id is not null
)

select * from final
