{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='window_replace',
        unique_key='session_id',
        window_column='started_at',
        stale_rows='ended_at is null or ended_at >= {window_start}',
    )
}}

-- One row per agent per activity segment: Connect's "Agent Activity" (what the agent is
-- doing) within one login session, from one change to the next. A segment starts at the
-- session's login, at a status start, or at an event whose snapshot changes the
-- activity, the routing profile or the slots; consecutive pieces that agree are merged.
-- Segments tile each session: no gap, no overlap, never crossing a LOGOUT. The last
-- segment of an open session stays open (ended_at NULL).
--
-- Activity, by Connect's precedence over the contacts present: Error > Missed > Rejected >
-- On contact (connected, on hold, paused, outbound dialling) > After contact work >
-- Incoming (ringing, callback presented) > the custom status's name > Available (or
-- Offline for an OFFLINE status).
--
-- Incremental: every session not closed before `lookback_days` before the latest stored
-- segment start is rebuilt whole (strategy window_replace: its stored segments, and every
-- stored segment open or ending in that window, are deleted, then the rebuilt ones
-- inserted; a session whose login moved leaves no stale segments).

with

sessions as (
    select session_id, agent_arn, login_at, logout_at
    from {{ ref('fct_agent_sessions') }}
    {% if is_incremental() %}
    where logout_at is null or logout_at >= {{ lookback_window_start('started_at') }}
    {% endif %}
),

{% if is_incremental() %}
-- the earliest login rebuilt: nothing earlier is in force in the rebuilt sessions
rebuilt_from as (
    select min(login_at) as earliest_login_at from sessions
),
{% endif %}

status_intervals as (
    select
        interval_id,
        agent_arn,
        status_key,
        status_arn,
        status_name,
        status_type,
        routing_profile_arn,
        started_at,
        ended_at
    from {{ ref('fct_agent_status') }}
    {% if is_incremental() %}
    where ended_at is null
        or ended_at > (select rebuilt_from.earliest_login_at from rebuilt_from)
    {% endif %}
),

snapshot_states as (
    select * from {{ ref('int_agent_snapshot_states') }}
    {% if is_incremental() %}
    where event_timestamp >= (select rebuilt_from.earliest_login_at from rebuilt_from)
    {% endif %}
),

-- where something may change inside a session: its login, status starts, events
status_starts_in_sessions as (
    select
        sessions.session_id,
        sessions.agent_arn,
        status_intervals.started_at as piece_start,
        sessions.login_at,
        sessions.logout_at
    from sessions
    inner join status_intervals
        on sessions.agent_arn = status_intervals.agent_arn
        and sessions.login_at < status_intervals.started_at
        and (sessions.logout_at is null or sessions.logout_at > status_intervals.started_at)
),

events_in_sessions as (
    select
        sessions.session_id,
        sessions.agent_arn,
        snapshot_states.event_timestamp as piece_start,
        sessions.login_at,
        sessions.logout_at
    from sessions
    inner join snapshot_states
        on sessions.agent_arn = snapshot_states.agent_arn
        and sessions.login_at < snapshot_states.event_timestamp
        and (sessions.logout_at is null or sessions.logout_at > snapshot_states.event_timestamp)
),

boundaries as (
    select session_id, agent_arn, login_at as piece_start, login_at, logout_at
    from sessions
    union
    select session_id, agent_arn, piece_start, login_at, logout_at
    from status_starts_in_sessions
    union
    select session_id, agent_arn, piece_start, login_at, logout_at
    from events_in_sessions
),

pieces as (
    select
        *,
        coalesce(
            lead(piece_start) over (partition by session_id order by piece_start),
            logout_at
        ) as piece_end
    from boundaries
),

-- the status in force at the start of each piece (intervals are contiguous)
pieces_with_status as (
    {{ asof_left_join(
        'pieces', 'status_intervals', 'agent_arn', 'piece_start', '>=', 'started_at',
        'interval_id',
        'status_intervals.interval_id as status_interval_id,
        status_intervals.status_key,
        status_intervals.status_arn,
        status_intervals.status_name,
        status_intervals.status_type,
        status_intervals.routing_profile_arn as status_routing_profile_arn'
    ) }}
),

-- the last snapshot at or before the start of each piece, within the same session
pieces_with_snapshot as (
    {{ asof_left_join(
        'pieces_with_status', 'snapshot_states', 'agent_arn', 'piece_start', '>=',
        'event_timestamp', 'event_id',
        'case
            when pieces_with_status.login_at <= snapshot_states.event_timestamp
                then snapshot_states.event_id
        end as snapshot_event_id'
    ) }}
),

classified as (
    select
        pieces.session_id,
        pieces.agent_arn,
        pieces.piece_start,
        pieces.piece_end,
        pieces.status_interval_id,
        pieces.status_key,
        pieces.status_arn,
        pieces.status_name,
        pieces.status_type,
        coalesce(states.routing_profile_arn, pieces.status_routing_profile_arn)
            as routing_profile_arn,
        coalesce(states.contacts, 0) as contacts,
        case
            when states.has_error then 'Error'
            when states.has_missed then 'Missed'
            when states.has_rejected then 'Rejected'
            when states.has_on_contact then 'On contact'
            when states.has_after_contact_work then 'After contact work'
            when states.has_incoming then 'Incoming'
            when pieces.status_type = 'CUSTOM' then pieces.status_name
            when pieces.status_type = 'OFFLINE' then 'Offline'
            else 'Available'
        end as activity,
        states.voice_active_slots,
        states.voice_max_slots,
        states.chat_active_slots,
        states.chat_max_slots,
        states.task_active_slots,
        states.task_max_slots
    from pieces_with_snapshot as pieces
    left join snapshot_states as states
        on pieces.snapshot_event_id = states.event_id
),

-- what makes a segment: the same status interval, activity, profile and slots
signed as (
    select
        *,
        {{ json_object_md5({
            'status_interval_id': 'status_interval_id',
            'activity': 'activity',
            'routing_profile_arn': 'routing_profile_arn',
            'contacts': 'contacts',
            'voice_active_slots': 'voice_active_slots',
            'voice_max_slots': 'voice_max_slots',
            'chat_active_slots': 'chat_active_slots',
            'chat_max_slots': 'chat_max_slots',
            'task_active_slots': 'task_active_slots',
            'task_max_slots': 'task_max_slots'
        }) }} as signature
    from classified
),

changes as (
    select
        *,
        coalesce(
            signature <> lag(signature) over (partition by session_id order by piece_start),
            true
        ) as is_change
    from signed
),

islands as (
    select
        *,
        sum(case when is_change then 1 else 0 end) over (
            partition by session_id order by piece_start
            rows between unbounded preceding and current row
        ) as segment_number
    from changes
),

segments as (
    select
        session_id,
        agent_arn,
        segment_number,
        min(piece_start) as started_at,
        case when bool_and(piece_end is not null) then max(piece_end) end as ended_at,
        any_value(status_interval_id) as status_interval_id,
        any_value(status_key) as status_key,
        any_value(status_arn) as status_arn,
        any_value(status_name) as status_name,
        any_value(status_type) as status_type,
        any_value(activity) as activity,
        any_value(routing_profile_arn) as routing_profile_arn,
        any_value(contacts) as contacts,
        any_value(voice_active_slots) as voice_active_slots,
        any_value(voice_max_slots) as voice_max_slots,
        any_value(chat_active_slots) as chat_active_slots,
        any_value(chat_max_slots) as chat_max_slots,
        any_value(task_active_slots) as task_active_slots,
        any_value(task_max_slots) as task_max_slots
    from islands
    group by session_id, agent_arn, segment_number
),

final as (
    select
        {{ surrogate_key(['session_id', epoch_us('started_at')]) }} as segment_id,
        session_id,
        agent_arn,
        segment_number,
        started_at,
        ended_at,
        ({{ epoch_us('ended_at') }} - {{ epoch_us('started_at') }}) / 1e6 as duration_seconds,
        activity,
        status_name,
        status_arn,
        status_key,
        status_type,
        status_interval_id,
        coalesce(status_type, '') <> 'OFFLINE' as is_online,
        status_type = 'ROUTABLE' and activity = 'Available' as is_idle,
        status_type = 'ROUTABLE' and activity in ('On contact', 'After contact work')
            as is_on_contact,
        activity = 'Incoming' as is_incoming,
        activity = 'After contact work' as is_after_contact_work,
        activity in ('Error', 'Missed', 'Rejected') as is_error,
        status_type = 'CUSTOM' as is_npt,
        contacts,
        routing_profile_arn,
        voice_active_slots,
        voice_max_slots,
        chat_active_slots,
        chat_max_slots,
        task_active_slots,
        task_max_slots
    from segments
)

select * from final
