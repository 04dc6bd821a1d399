{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key=['agent_arn', 'contact_id'],
    )
}}

-- One row per agent, contact and offer (a contact missed or rejected can be offered to the
-- same agent again: each offer is a row, see int_contact_listings).
-- offered: first ringing state; connected: connected to the agent; ended: ENDED (the
-- conversation ended, after-contact work begins); cleared: the time of the agent's event
-- in which the offer disappears from the contact list (after-contact work ends).
-- Hold periods come from the event times of the CONNECTED <-> CONNECTED_ONHOLD
-- transitions: StateStartTimestamp does not change when a contact goes on hold.
--
-- Incremental: every offer of a contact listed within `lookback_days` of the latest stored
-- first sighting, or of a stored contact not yet cleared, is rebuilt from all of its
-- listings (delete+insert on agent and contact). They start no earlier than the contact's
-- stored first sighting or the window, so only listings, events and statuses from there on
-- are read.

with

{% if is_incremental() %}
touched_contacts as (
    select agent_arn, contact_id
    from {{ this }}
    where cleared_at is null
    union
    select agent_arn, contact_id
    from {{ ref('int_contact_listings') }}
    where observed_at >= {{ lookback_window_start('first_seen_at') }}
),

rebuilt_since as (
    select
        least(
            min(stored_offers.first_seen_at), {{ lookback_window_start('first_seen_at') }}
        ) as observed_at
    from {{ this }} as stored_offers
    inner join touched_contacts
        on stored_offers.agent_arn = touched_contacts.agent_arn
        and stored_offers.contact_id = touched_contacts.contact_id
),
{% endif %}

listings as (
    select listings.*
    from {{ ref('int_contact_listings') }} as listings
    {% if is_incremental() %}
    inner join touched_contacts
        on listings.agent_arn = touched_contacts.agent_arn
        and listings.contact_id = touched_contacts.contact_id
    where listings.observed_at >= (select rebuilt_since.observed_at from rebuilt_since)
    {% endif %}
),

-- the agents' events, numbered as in int_contact_listings
agent_events as (
    select agent_arn, event_timestamp, event_number
    from {{ ref('int_agent_event_sequence') }}
    {% if is_incremental() %}
    where event_timestamp >= (select rebuilt_since.observed_at from rebuilt_since)
    {% endif %}
),

offers as (
    select
        agent_arn,
        contact_id,
        offer_number,
        {{ arg_max('initial_contact_id', 'listing_position') }}
        filter (where initial_contact_id is not null) as initial_contact_id,
        {{ arg_max('channel', 'listing_position') }} filter (where channel is not null) as channel,
        {{ arg_max('initiation_method', 'listing_position') }}
        filter (where initiation_method is not null) as initiation_method,
        {{ arg_max('queue_arn', 'listing_position') }}
        filter (where queue_arn is not null) as queue_arn,
        min(queued_at) as queued_at,
        min(state_started_at) filter (where contact_state in ('INCOMING', 'PENDING', 'CONNECTING'))
            as offered_at,
        coalesce(
            min(connected_to_agent_at),
            min(state_started_at) filter (where contact_state = 'CONNECTED')
        ) as connected_at,
        min(state_started_at) filter (where contact_state = 'ENDED') as ended_at,
        min(state_started_at) filter (where contact_state in ('MISSED', 'REJECTED', 'ERROR'))
            as not_answered_at,
        {{ arg_max('contact_state', 'listing_position') }} as final_state,
        bool_or(contact_state = 'CONNECTED_ONHOLD') as was_on_hold,
        min(observed_at) as first_seen_at,
        max(observed_at) filter (where snapshot = 'current') as last_listed_at,
        floor(max(listing_position))::bigint + 1 as clearing_event_number
    from listings
    group by agent_arn, contact_id, offer_number
),

cleared as (
    select
        offers.*,
        agent_events.event_timestamp as cleared_at
    from offers
    left join agent_events
        on offers.agent_arn = agent_events.agent_arn
        and offers.clearing_event_number = agent_events.event_number
),

-- hold: from each current listing on hold to the offer's next listing (or its clearing)
current_listings as (
    select
        listings.agent_arn,
        listings.contact_id,
        listings.offer_number,
        listings.contact_state,
        listings.observed_at,
        coalesce(
            lead(listings.observed_at) over (
                partition by listings.agent_arn, listings.contact_id, listings.offer_number
                order by listings.listing_position
            ),
            cleared.cleared_at
        ) as next_observed_at
    from listings
    inner join cleared
        on listings.agent_arn = cleared.agent_arn
        and listings.contact_id = cleared.contact_id
        and listings.offer_number = cleared.offer_number
    where listings.snapshot = 'current'
),

holds as (
    select
        agent_arn,
        contact_id,
        offer_number,
        sum({{ epoch_us('next_observed_at') }} - {{ epoch_us('observed_at') }})
        filter (where contact_state = 'CONNECTED_ONHOLD') / 1e6 as hold_seconds,
        count(*) filter (where contact_state = 'CONNECTED_ONHOLD') as on_hold_listings
    from current_listings
    group by agent_arn, contact_id, offer_number
),

-- time the agent was in a custom status while handling the contact (AHT leaves it out)
custom_statuses as (
    select agent_arn, started_at, coalesce(ended_at, {{ timestamp_max() }}) as ended_at
    from {{ ref('fct_agent_status') }}
    where status_type = 'CUSTOM'
        {% if is_incremental() %}
        -- only those that can overlap a rebuilt offer
        and coalesce(ended_at, {{ timestamp_max() }})
        > (select min(cleared.connected_at) from cleared)
        {% endif %}
),

custom_overlap as (
    select
        cleared.agent_arn,
        cleared.contact_id,
        cleared.offer_number,
        sum(
            {{ epoch_us('least(custom_statuses.ended_at, cleared.cleared_at)') }}
            - {{ epoch_us('greatest(custom_statuses.started_at, cleared.connected_at)') }}
        ) / 1e6 as custom_status_seconds
    from cleared
    inner join custom_statuses
        on cleared.agent_arn = custom_statuses.agent_arn
        and cleared.connected_at < custom_statuses.ended_at
        and cleared.cleared_at > custom_statuses.started_at
    group by cleared.agent_arn, cleared.contact_id, cleared.offer_number
),

durations as (
    select
        cleared.*,
        case when cleared.connected_at is not null
                then coalesce(cleared.ended_at, cleared.cleared_at)
        end as conversation_ended_at,
        case when cleared.connected_at is null
                then coalesce(cleared.not_answered_at, cleared.cleared_at)
        end as non_response_at,
        coalesce(holds.hold_seconds, 0) as hold_seconds,
        coalesce(custom_overlap.custom_status_seconds, 0) as custom_status_seconds
    from cleared
    left join holds
        on cleared.agent_arn = holds.agent_arn
        and cleared.contact_id = holds.contact_id
        and cleared.offer_number = holds.offer_number
    left join custom_overlap
        on cleared.agent_arn = custom_overlap.agent_arn
        and cleared.contact_id = custom_overlap.contact_id
        and cleared.offer_number = custom_overlap.offer_number
),

measured as (
    select
        *,
        (
            {{ epoch_us('coalesce(connected_at, not_answered_at, cleared_at)') }}
            - {{ epoch_us('offered_at') }}
        ) / 1e6
            as ring_seconds,
        ({{ epoch_us('conversation_ended_at') }} - {{ epoch_us('connected_at') }}) / 1e6
            as talk_seconds,
        case when connected_at is not null
                then
                    ({{ epoch_us('cleared_at') }} - {{ epoch_us('conversation_ended_at') }}) / 1e6
        end as after_contact_work_seconds,
        case when connected_at is not null
                then ({{ epoch_us('cleared_at') }} - {{ epoch_us('connected_at') }}) / 1e6
        end as contact_handle_seconds
    from durations
),

agent_versions as (
    select agent_key, agent_arn, version_number, valid_from, valid_to
    from {{ ref('dim_agent') }}
),

final as (
    select
        {{ surrogate_key(['measured.agent_arn', 'measured.contact_id', 'measured.offer_number']) }}
            as contact_key,
        measured.agent_arn,
        agent_versions.agent_key,
        measured.contact_id,
        measured.offer_number::integer as offer_number,
        measured.initial_contact_id,
        measured.channel,
        measured.initiation_method,
        measured.queue_arn,
        measured.queued_at,
        measured.offered_at,
        measured.connected_at,
        measured.ended_at,
        measured.cleared_at,
        measured.final_state,
        measured.connected_at is not null as is_handled,
        measured.connected_at is null and measured.non_response_at is not null as is_non_response,
        measured.non_response_at,
        measured.ring_seconds,
        measured.talk_seconds,
        measured.hold_seconds,
        measured.talk_seconds - measured.hold_seconds as interaction_seconds,
        measured.after_contact_work_seconds,
        measured.contact_handle_seconds,
        measured.contact_handle_seconds - measured.custom_status_seconds as handle_seconds,
        case when measured.connected_at is not null then measured.custom_status_seconds end
            as custom_status_seconds,
        measured.first_seen_at,
        measured.last_listed_at
    from measured
    -- the agent version in force when the contact was offered (or first seen)
    left join agent_versions
        on {{ version_in_force(
            'agent_versions', 'agent_arn', 'measured.agent_arn',
            'coalesce(measured.offered_at, measured.first_seen_at)'
        ) }}
)

select * from final
