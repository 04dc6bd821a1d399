-- One row per non-HEART_BEAT event: what the agent's current snapshot says they are
-- doing besides their status: which kinds of contact states are present (for Connect's
-- agent activity), the routing profile, and active / maximum slots per channel.
-- HEART_BEATs repeat the last snapshot (and go on after logout), so they are left out.

with

events as (
    select
        event_id,
        agent_arn,
        event_timestamp,
        current_routing_profile_arn,
        current_routing_profile_configuration_key
    from {{ ref('stg_agent_events') }}
    where event_type <> 'HEART_BEAT'
),

contacts as (
    select
        event_id,
        contact_state,
        initiation_method
    from {{ ref('stg_agent_event_contacts') }}
    where snapshot = 'current' and contact_id is not null
),

contact_kinds as (
    select
        event_id,
        count(*) as contacts,
        bool_or(contact_state = 'ERROR') as has_error,
        bool_or(contact_state = 'MISSED') as has_missed,
        bool_or(contact_state = 'REJECTED') as has_rejected,
        -- connected, on hold, paused (tasks), or an outbound call / callback being dialled
        bool_or(
            contact_state in ('CONNECTED', 'CONNECTED_ONHOLD', 'PAUSED')
            or (contact_state = 'CONNECTING' and initiation_method in ('OUTBOUND', 'CALLBACK'))
        ) as has_on_contact,
        bool_or(contact_state = 'ENDED') as has_after_contact_work,
        -- ringing: an inbound contact being offered, or a callback presented
        bool_or(
            contact_state in ('INCOMING', 'PENDING')
            or (
                contact_state = 'CONNECTING'
                and initiation_method is distinct from 'OUTBOUND'
                and initiation_method is distinct from 'CALLBACK'
            )
        ) as has_incoming
    from contacts
    group by event_id
),

slots as (
    select
        routing_profile_configuration_key,
        max(maximum_slots - available_slots) filter (where channel = 'VOICE') as voice_active_slots,
        max(maximum_slots) filter (where channel = 'VOICE') as voice_max_slots,
        max(maximum_slots - available_slots) filter (where channel = 'CHAT') as chat_active_slots,
        max(maximum_slots) filter (where channel = 'CHAT') as chat_max_slots,
        max(maximum_slots - available_slots) filter (where channel in ('TASK', 'TASKS'))
            as task_active_slots,
        max(maximum_slots) filter (where channel in ('TASK', 'TASKS')) as task_max_slots
    from {{ ref('stg_agent_event_concurrency') }}
    group by routing_profile_configuration_key
),

final as (
    select
        events.agent_arn,
        events.event_id,
        events.event_timestamp,
        events.current_routing_profile_arn as routing_profile_arn,
        coalesce(contact_kinds.contacts, 0) as contacts,
        coalesce(contact_kinds.has_error, false) as has_error,
        coalesce(contact_kinds.has_missed, false) as has_missed,
        coalesce(contact_kinds.has_rejected, false) as has_rejected,
        coalesce(contact_kinds.has_on_contact, false) as has_on_contact,
        coalesce(contact_kinds.has_after_contact_work, false) as has_after_contact_work,
        coalesce(contact_kinds.has_incoming, false) as has_incoming,
        slots.voice_active_slots,
        slots.voice_max_slots,
        slots.chat_active_slots,
        slots.chat_max_slots,
        slots.task_active_slots,
        slots.task_max_slots
    from events
    left join contact_kinds on events.event_id = contact_kinds.event_id
    left join slots
        on events.current_routing_profile_configuration_key
        = slots.routing_profile_configuration_key
)

select * from final
