-- One row per de-duplicated event (HEART_BEATs included), in each agent's order, with
-- whether the agent is logged in after it and the agent's next event.
--
-- Logged in: a LOGIN opens a session, a LOGOUT closes it, and a non-HEART_BEAT event
-- whose current status is not OFFLINE shows a session (for agents first seen mid-session).
-- HEART_BEATs prove nothing (they go on for up to an hour after logout) and Offline
-- STATE_CHANGEs leave the state as it was. A session can end without a LOGOUT (closed
-- browser): when the next event is a LOGIN, the stretch before it is not a session.
--
-- Incremental (a table, delete+insert on event_id; it feeds the dq_* marts): the events
-- within `lookback_days` of the latest stored one are sequenced again, after each agent's
-- last stored event before the window (re-emitted: its next event may be a late one), whose
-- logged-in state and event number carry over: the window's events are numbered on from it.

{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='event_id',
    )
}}

with

{% if is_incremental() %}
stored_before_window as (
    select
        event_id,
        agent_arn,
        agent_id,
        username,
        event_type,
        event_timestamp,
        status_name,
        status_type,
        is_logged_in as session_marker,
        event_number as stored_event_number
    from {{ this }}
    -- the agent's last event before the window: its next one is in the window, or none
    where event_timestamp < {{ lookback_window_start('event_timestamp') }}
        and (
            next_event_at is null
            or next_event_at >= {{ lookback_window_start('event_timestamp') }}
        )
),
{% endif %}

events as (
    select
        event_id,
        agent_arn,
        agent_id,
        current_username as username,
        event_type,
        event_timestamp,
        current_status_name as status_name,
        coalesce(
            upper(current_status_type),
            case when lower(current_status_name) = 'offline' then 'OFFLINE' end
        ) as status_type
    from {{ ref('stg_agent_events') }}
    {% if is_incremental() %}
    where event_timestamp >= {{ lookback_window_start('event_timestamp') }}
    {% endif %}
),

window_markers as (
    select
        *,
        case
            when event_type = 'LOGIN' then true
            when event_type = 'LOGOUT' then false
            when event_type = 'HEART_BEAT' then null
            when status_name is null and status_type is null then null
            when status_type = 'OFFLINE' then null
            else true
        end as session_marker
    from events
),

session_markers as (
    {% if is_incremental() -%}
    select *, cast(null as bigint) as stored_event_number from window_markers
    union all
    select * from stored_before_window
    {%- else -%}
    select * from window_markers
    {%- endif %}
),

sequenced_events as (
    select
        *,
        coalesce(
            {{ last_non_null('session_marker') }} over agent_order,
            false
        ) as is_logged_in,
        lead(event_id) over agent_sequence as next_event_id,
        lead(event_type) over agent_sequence as next_event_type,
        lead(event_timestamp) over agent_sequence as next_event_at,
        row_number() over agent_sequence as window_event_number
    from session_markers
    window
        -- lead() takes no frame (Spark rejects one)
        agent_sequence as (partition by agent_arn order by event_timestamp, event_id),
        agent_order as (
            partition by agent_arn
            order by event_timestamp, event_id
            rows between unbounded preceding and current row
        )
),

final as (
    select
        agent_arn,
        agent_id,
        username,
        event_id,
        event_type,
        event_timestamp,
        status_name,
        status_type,
        is_logged_in,
        next_event_id,
        next_event_type,
        next_event_at,
        ({{ epoch_us('next_event_at') }} - {{ epoch_us('event_timestamp') }}) / 1e6
            as seconds_to_next_event,
        {% if is_incremental() -%}
        -- numbered on from the re-emitted stored event (the first of its agent here), if any
        coalesce(max(stored_event_number) over (partition by agent_arn) - 1, 0)
        + window_event_number as event_number,
        {%- else -%}
        window_event_number as event_number,
        {%- endif %}
        case
            when not is_logged_in then null
            when next_event_type is null or next_event_type = 'LOGIN' then event_timestamp
            else next_event_at
        end as logged_in_until
    from sequenced_events
)

select * from final
