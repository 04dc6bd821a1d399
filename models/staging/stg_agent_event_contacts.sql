-- One row per contact in a snapshot of the chosen copy of each event
-- (children of the other Firehose copies are dropped).

with

contacts as (
    {{ chosen_copy_rows('agent_event_contacts') }}
),

final as (
    select
        event_id,
        snapshot,
        contact_position,
        contact_id,
        initial_contact_id,
        upper(channel) as channel,
        upper(initiation_method) as initiation_method,
        upper(state) as contact_state,
        state_started_at,
        connected_to_agent_at,
        queued_at,
        queue_arn,
        queue_name
    from contacts
)

select * from final
