{{ config(materialized='incremental', unique_key='contact_key') }}

-- One row per agent per contact, from every state the agent's snapshots show for it.
-- offered: first INCOMING / CONNECTING; connected: connected to the agent; ended: ENDED
-- (after-contact work begins); cleared: the first event of the agent after the last
-- snapshot listing the contact (after-contact work ends).
--
-- Incremental: contacts seen within `lookback_days` of the latest stored first sighting,
-- plus stored contacts not yet cleared, are rebuilt from all of their states.

with

{% if is_incremental() %}
touched_contacts as (
    select agent_arn, contact_id
    from {{ this }}
    where cleared_at is null
    union
    select agent_arn, contact_id
    from {{ ref('int_contact_states') }}
    where observed_at >= {{ lookback_window_start('first_seen_at') }}
),
{% endif %}

states as (
    select
        states.*,
        case states.snapshot when 'previous' then 0 else 1 end as snapshot_order
    from {{ ref('int_contact_states') }} as states
    {% if is_incremental() %}
    inner join touched_contacts
        on states.agent_arn = touched_contacts.agent_arn
        and states.contact_id = touched_contacts.contact_id
    {% endif %}
),

contacts as (
    select
        agent_arn,
        contact_id,
        {{ observed_value('initial_contact_id') }} as initial_contact_id,
        {{ observed_value('channel') }} as channel,
        {{ observed_value('initiation_method') }} as initiation_method,
        {{ observed_value('queue_arn') }} as queue_arn,
        min(queued_at) as queued_at,
        min(state_started_at) filter (where contact_state in ('INCOMING', 'CONNECTING'))
            as offered_at,
        coalesce(
            min(connected_to_agent_at),
            min(state_started_at) filter (where contact_state = 'CONNECTED')
        ) as connected_at,
        min(state_started_at) filter (
            where contact_state not in ('INCOMING', 'CONNECTING', 'PENDING')
        ) as ringing_stopped_at,
        min(state_started_at) filter (where contact_state = 'ENDED') as ended_at,
        arg_max(contact_state, (state_started_at, observed_at, snapshot_order, event_id))
            as final_state,
        min(observed_at) as first_seen_at,
        max(observed_at) filter (where snapshot = 'current') as last_listed_at,
        min(observed_at) filter (where snapshot = 'previous') as first_seen_in_previous_at
    from states
    group by agent_arn, contact_id
),

distinct_states as (
    select distinct agent_arn, contact_id, contact_state, state_started_at
    from states
),

state_spans as (
    select
        agent_arn,
        contact_id,
        contact_state,
        state_started_at,
        lead(state_started_at) over (
            partition by agent_arn, contact_id order by state_started_at, contact_state
        ) as state_ended_at
    from distinct_states
),

holds as (
    select
        agent_arn,
        contact_id,
        coalesce(
            sum(epoch_us(state_ended_at) - epoch_us(state_started_at))
            filter (where contact_state = 'CONNECTED_ONHOLD'),
            0
        ) / 1e6 as hold_seconds
    from state_spans
    group by agent_arn, contact_id
),

{% if is_incremental() %}
rebuilt_agents as (
    select agent_arn, min(last_listed_at) as earliest_last_listed_at
    from contacts
    group by agent_arn
),
{% endif %}

agent_events as (
    select events.agent_arn, events.event_timestamp
    from {{ ref('stg_agent_events') }} as events
    {% if is_incremental() %}
    inner join rebuilt_agents
        on events.agent_arn = rebuilt_agents.agent_arn
        and events.event_timestamp > rebuilt_agents.earliest_last_listed_at
    {% endif %}
),

clearing as (
    select
        contacts.*,
        -- a contact only ever seen in a previous snapshot left the list at that event
        coalesce(
            next_events.event_timestamp,
            case when contacts.last_listed_at is null then contacts.first_seen_in_previous_at end
        ) as cleared_at
    from contacts
    asof left join agent_events as next_events
        on contacts.agent_arn = next_events.agent_arn
        and contacts.last_listed_at < next_events.event_timestamp
),

durations as (
    select
        clearing.*,
        holds.hold_seconds,
        (
            epoch_us(coalesce(clearing.connected_at, clearing.ringing_stopped_at))
            - epoch_us(clearing.offered_at)
        ) / 1e6 as ring_seconds,
        (epoch_us(clearing.ended_at) - epoch_us(clearing.connected_at)) / 1e6 as talk_seconds,
        (epoch_us(clearing.cleared_at) - epoch_us(clearing.ended_at)) / 1e6
            as after_contact_work_seconds
    from clearing
    left join holds
        on clearing.agent_arn = holds.agent_arn
        and clearing.contact_id = holds.contact_id
),

agent_versions as (
    select agent_key, agent_arn, version_number, valid_from, valid_to
    from {{ ref('dim_agent') }}
),

final as (
    select
        {{ surrogate_key(['durations.agent_arn', 'durations.contact_id']) }} as contact_key,
        durations.agent_arn,
        agent_versions.agent_key,
        durations.contact_id,
        durations.initial_contact_id,
        durations.channel,
        durations.initiation_method,
        durations.queue_arn,
        durations.queued_at,
        durations.offered_at,
        durations.connected_at,
        durations.ended_at,
        durations.cleared_at,
        durations.final_state,
        durations.ring_seconds,
        durations.talk_seconds,
        durations.hold_seconds,
        durations.after_contact_work_seconds,
        durations.talk_seconds + durations.after_contact_work_seconds as handle_seconds,
        durations.first_seen_at,
        durations.last_listed_at
    from durations
    -- the agent version in force when the contact was offered (or first seen)
    left join agent_versions
        on {{ version_in_force(
            'agent_versions', 'agent_arn', 'durations.agent_arn',
            'coalesce(durations.offered_at, durations.first_seen_at)'
        ) }}
)

select * from final
