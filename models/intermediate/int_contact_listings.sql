-- One row per contact per snapshot that lists it, placed in the agent's event order:
-- `listing_position` is the agent's event number (every event type, HEART_BEATs
-- included, since they list the contacts too) for a current snapshot, and half a step
-- before its event for a previous snapshot (the state just before the event). A
-- previous-snapshot row that only repeats the prior event's current row is dropped.
-- `offer_number` counts the offers of one contact to one agent: a new offer starts at the
-- first listing, after a listing gap (the contact left the list), or when a contact that
-- was missed, rejected, in error or ended is ringing again.

with

agent_events as (
    select
        agent_arn,
        event_id,
        event_type,
        event_timestamp,
        row_number() over (
            partition by agent_arn order by event_timestamp, event_id
        ) as event_number
    from {{ ref('stg_agent_events') }}
),

contact_states as (
    select * from {{ ref('int_contact_states') }}
),

placed as (
    select
        contact_states.*,
        agent_events.event_number,
        case contact_states.snapshot
            when 'current' then agent_events.event_number::double
            else agent_events.event_number - 0.5
        end as listing_position
    from contact_states
    inner join agent_events on contact_states.event_id = agent_events.event_id
),

current_listings as (
    select agent_arn, contact_id, event_number, contact_state
    from placed
    where snapshot = 'current'
),

deduplicated as (
    select placed.*
    from placed
    left join current_listings as prior_current
        on placed.snapshot = 'previous'
        and placed.agent_arn = prior_current.agent_arn
        and placed.contact_id = prior_current.contact_id
        and prior_current.event_number = placed.event_number - 1
        and placed.contact_state = prior_current.contact_state
    where prior_current.contact_id is null
),

flagged as (
    select
        *,
        lag(listing_position) over contact_order is null
        or lag(listing_position) over contact_order < listing_position - 1
        or (
            lag(contact_state) over contact_order in ('MISSED', 'REJECTED', 'ERROR', 'ENDED')
            and contact_state in ('INCOMING', 'PENDING', 'CONNECTING')
        ) as is_new_offer
    from deduplicated
    window contact_order as (
        partition by agent_arn, contact_id order by listing_position, contact_state
    )
),

final as (
    select
        agent_arn,
        contact_id,
        sum(case when is_new_offer then 1 else 0 end) over (
            partition by agent_arn, contact_id
            order by listing_position, contact_state
            rows between unbounded preceding and current row
        ) as offer_number,
        event_id,
        event_type,
        event_number,
        listing_position,
        observed_at,
        snapshot,
        contact_state,
        state_started_at,
        initial_contact_id,
        channel,
        initiation_method,
        connected_to_agent_at,
        queued_at,
        queue_arn,
        queue_name
    from flagged
)

select * from final
