-- One row per login session of an agent. A LOGIN opens a session; a LOGOUT closes it;
-- a session with no LOGOUT is closed by the agent's next LOGIN (is_logout_inferred) or
-- stays open (logout_at NULL). A status other than OFFLINE that starts while no session
-- is open (an agent first seen mid-shift, a lost LOGIN) opens one at its start
-- (is_login_inferred). HEART_BEATs never open or extend a session; silence while logged
-- in does not cut it (see dq_event_gaps).

with

session_events as (
    select
        agent_arn,
        event_id as marker_id,
        event_type as marker_type,
        event_timestamp as marked_at
    from {{ ref('stg_agent_events') }}
    where event_type in ('LOGIN', 'LOGOUT')
),

online_status_starts as (
    select
        agent_arn,
        interval_id as marker_id,
        'ONLINE' as marker_type,
        started_at as marked_at
    from {{ ref('fct_agent_status') }}
    where status_type is distinct from 'OFFLINE'
),

all_markers as (
    select * from session_events
    union all
    select * from online_status_starts
),

markers as (
    select
        *,
        -- at one instant: a LOGIN first, then a status start, then a LOGOUT
        case marker_type when 'LOGIN' then 0 when 'ONLINE' then 1 else 2 end as marker_order
    from all_markers
),

grouped_markers as (
    select
        *,
        -- each LOGIN / LOGOUT starts a group; a group's first row says which
        count(*) filter (where marker_type <> 'ONLINE') over agent_order as marker_group
    from markers
    window agent_order as (
        partition by agent_arn
        order by marked_at, marker_order, marker_id
        rows between unbounded preceding and current row
    )
),

group_kinds as (
    select
        *,
        first_value(marker_type) over (
            partition by agent_arn, marker_group
            order by marked_at, marker_order, marker_id
        ) as group_opened_by,
        row_number() over (
            partition by agent_arn, marker_group, marker_type
            order by marked_at, marker_order, marker_id
        ) as rank_in_group
    from grouped_markers
),

boundaries as (
    select
        agent_arn,
        marker_id,
        marker_type,
        marked_at,
        marker_order,
        case
            when marker_type = 'LOGIN' then 'login'
            when marker_type = 'LOGOUT' then 'logout'
            else 'inferred_login'
        end as boundary
    from group_kinds
    where marker_type in ('LOGIN', 'LOGOUT')
        -- the first online status start while logged out (or before any LOGIN/LOGOUT)
        or (
            marker_type = 'ONLINE'
            and rank_in_group = 1
            and (marker_group = 0 or group_opened_by = 'LOGOUT')
        )
),

sequenced as (
    select
        *,
        lead(boundary) over agent_order as next_boundary,
        lead(marked_at) over agent_order as next_marked_at
    from boundaries
    window agent_order as (partition by agent_arn order by marked_at, marker_order, marker_id)
),

sessions as (
    select
        agent_arn,
        marker_id as opened_by,
        marked_at as login_at,
        boundary = 'inferred_login' as is_login_inferred,
        case when next_boundary in ('logout', 'login') then next_marked_at end as logout_at,
        coalesce(next_boundary = 'login', false) as is_logout_inferred
    from sequenced
    where boundary in ('login', 'inferred_login')
),

horizon as (
    select data_horizon_at from {{ ref('int_data_horizon') }}
),

online_intervals as (
    select agent_arn, started_at, coalesce(ended_at, {{ timestamp_max() }}) as ended_at
    from {{ ref('fct_agent_status') }}
    where status_type is distinct from 'OFFLINE'
),

online_time as (
    select
        sessions.agent_arn,
        sessions.login_at,
        sum(
            {{ epoch_us(
                'least(online_intervals.ended_at, coalesce(sessions.logout_at, '
                ~ 'greatest(sessions.login_at, horizon.data_horizon_at)))'
            ) }}
            - {{ epoch_us('greatest(online_intervals.started_at, sessions.login_at)') }}
        ) / 1e6 as online_seconds
    from sessions
    cross join horizon
    inner join online_intervals
        on sessions.agent_arn = online_intervals.agent_arn
        and sessions.login_at < online_intervals.ended_at
        and online_intervals.started_at
        < coalesce(sessions.logout_at, greatest(sessions.login_at, horizon.data_horizon_at))
    group by sessions.agent_arn, sessions.login_at
),

final as (
    select
        {{ surrogate_key(['sessions.agent_arn', epoch_us('sessions.login_at')]) }} as session_id,
        sessions.agent_arn,
        sessions.login_at,
        sessions.logout_at,
        sessions.is_logout_inferred,
        sessions.is_login_inferred,
        sessions.logout_at is null as is_open,
        ({{ epoch_us('sessions.logout_at') }} - {{ epoch_us('sessions.login_at') }}) / 1e6
            as duration_seconds,
        coalesce(online_time.online_seconds, 0) as online_seconds,
        sessions.opened_by
    from sessions
    left join online_time
        on sessions.agent_arn = online_time.agent_arn
        and sessions.login_at = online_time.login_at
)

select * from final
