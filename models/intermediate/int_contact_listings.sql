{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key=['agent_arn', 'contact_id'],
    )
}}

-- One row per contact per snapshot that lists it, placed in the agent's event order:
-- `listing_position` is the agent's event number (every event type, HEART_BEATs
-- included, since they list the contacts too) for a current snapshot, and half a step
-- before its event for a previous snapshot (the state just before the event). A
-- previous-snapshot row that only repeats the prior event's current row is dropped.
-- `offer_number` counts the offers of one contact to one agent: a new offer starts at the
-- first listing, after a listing gap (the contact left the list), or when a contact that
-- was missed, rejected, in error or ended is ringing again.
--
-- Incremental (a table, delete+insert on agent and contact): every contact listed within
-- `lookback_days` of the latest stored listing is rebuilt from all of its listings, which
-- start no earlier than its earliest stored one. Event numbers come from
-- int_agent_event_sequence, which numbers a night's events on from the stored ones, so
-- the stored listings of other contacts keep theirs.

with

{% if is_incremental() %}
window_contacts as (
    select distinct agent_arn, contact_id
    from {{ ref('int_contact_states') }}
    where observed_at >= {{ lookback_window_start('observed_at') }}
),

rebuilt_since as (
    select
        least(
            min(stored_listings.observed_at), {{ lookback_window_start('observed_at') }}
        ) as observed_at
    from {{ this }} as stored_listings
    inner join window_contacts
        on stored_listings.agent_arn = window_contacts.agent_arn
        and stored_listings.contact_id = window_contacts.contact_id
),
{% endif %}

agent_events as (
    select agent_arn, event_id, event_number
    from {{ ref('int_agent_event_sequence') }}
    {% if is_incremental() %}
    where event_timestamp >= (select rebuilt_since.observed_at from rebuilt_since)
    {% endif %}
),

contact_states as (
    select contact_states.*
    from {{ ref('int_contact_states') }} as contact_states
    {% if is_incremental() %}
    inner join window_contacts
        on contact_states.agent_arn = window_contacts.agent_arn
        and contact_states.contact_id = window_contacts.contact_id
    where contact_states.observed_at >= (select rebuilt_since.observed_at from rebuilt_since)
    {% endif %}
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
