{%- set max_silence = var('dq_max_silence_seconds', 240) %}

-- One row per agent per silence longer than 2 x the 120 s heartbeat interval
-- (var `dq_max_silence_seconds`, default 240) between two consecutive events of any type
-- while the agent was logged in: likely data loss. Silences after a LOGOUT (trailing
-- heartbeats) and before a LOGIN (a session that ended without LOGOUT) are not gaps.

with

event_sequence as (
    select * from {{ ref('int_agent_event_sequence') }}
),

gaps as (
    select *
    from event_sequence
    where is_logged_in
        and next_event_type <> 'LOGIN'
        and seconds_to_next_event > {{ max_silence }}
),

final as (
    select
        {{ surrogate_key(['agent_arn', 'event_id']) }} as gap_id,
        agent_arn,
        agent_id,
        username,
        event_timestamp as started_at,
        next_event_at as ended_at,
        seconds_to_next_event as gap_seconds,
        {{ max_silence }}::double as threshold_seconds,
        status_name,
        event_id as event_before_id,
        event_type as event_before_type,
        next_event_id as event_after_id,
        next_event_type as event_after_type
    from gaps
)

select * from final
