-- One row per agent status seen in a snapshot: the current snapshot of every event and
-- the previous snapshot when there is one (a LOGIN may have none). HEART_BEATs are left
-- out: they confirm state and go on for up to an hour after logout, so they never
-- create an interval.
--
-- Statuses end at LOGOUT: a LOGOUT whose current status is not OFFLINE (CCPv1 keeps the
-- last status) adds an Offline observation at the LOGOUT; a status other than OFFLINE
-- seen again after a LOGOUT with a start before it restarts at the agent's next LOGIN
-- (or is dropped when seen before that LOGIN, as in the LOGIN's previous snapshot).
-- A missing AgentStatus.Type is filled: Available is ROUTABLE, Offline OFFLINE, any
-- other name CUSTOM.

with

events as (
    select * from {{ ref('stg_agent_events') }}
),

status_events as (
    select * from events
    where event_type <> 'HEART_BEAT'
),

logins as (
    select agent_arn, event_timestamp as login_at from events
    where event_type = 'LOGIN'
),

logouts as (
    select agent_arn, event_timestamp as logout_at from events
    where event_type = 'LOGOUT'
),

current_snapshots as (
    select
        agent_arn,
        instance_arn,
        event_id,
        event_type,
        event_timestamp as observed_at,
        event_timestamp as as_of,
        'current' as snapshot,
        current_status_started_at as reported_started_at,
        current_status_arn as status_arn,
        current_status_name as status_name,
        current_status_type as reported_status_type,
        current_username as username,
        current_routing_profile_arn as routing_profile_arn
    from status_events
    where current_status_started_at is not null
),

previous_snapshots as (
    select
        agent_arn,
        instance_arn,
        event_id,
        event_type,
        event_timestamp as observed_at,
        -- a previous snapshot shows the state just before its event
        event_timestamp - interval 1 microsecond as as_of,
        'previous' as snapshot,
        previous_status_started_at as reported_started_at,
        previous_status_arn as status_arn,
        previous_status_name as status_name,
        previous_status_type as reported_status_type,
        previous_username as username,
        previous_routing_profile_arn as routing_profile_arn
    from status_events
    where has_previous_snapshot and previous_status_started_at is not null
),

both_snapshots as (
    select * from current_snapshots
    union all
    select * from previous_snapshots
),

snapshots as (
    select
        *,
        {{ resolved_status_type('reported_status_type', 'status_name') }} as status_type
    from both_snapshots
),

with_last_logout as (
    {{ asof_value(
        'snapshots', 'logouts', 'agent_arn', 'as_of', '>', 'logout_at', 'last_logout_at'
    ) }}
),

with_last_login as (
    {{ asof_value(
        'with_last_logout', 'logins', 'agent_arn', 'as_of', '>=', 'login_at', 'last_login_at'
    ) }}
),

observed as (
    select
        agent_arn,
        instance_arn,
        event_id,
        event_type,
        observed_at,
        snapshot,
        case
            when last_logout_at > reported_started_at and status_type <> 'OFFLINE'
                then last_login_at
            else reported_started_at
        end as status_started_at,
        status_arn,
        status_name,
        status_type,
        reported_status_type is not null as has_reported_type,
        username,
        routing_profile_arn
    from with_last_login
    -- a status other than OFFLINE that survived a LOGOUT is kept only once the agent
    -- logged in again (an OFFLINE status goes on across a LOGOUT)
    where last_logout_at is null
        or last_logout_at <= reported_started_at
        or status_type = 'OFFLINE'
        or last_login_at > last_logout_at
),

offline_statuses as (
    select instance_arn, {{ arg_max('status_arn', 'observed_at') }} as offline_status_arn
    from observed
    where status_type = 'OFFLINE' and status_arn is not null
    group by instance_arn
),

logouts_keeping_a_status as (
    select
        status_events.agent_arn,
        status_events.instance_arn,
        status_events.event_id,
        status_events.event_type,
        status_events.event_timestamp as observed_at,
        'logout' as snapshot,
        status_events.event_timestamp as status_started_at,
        offline_statuses.offline_status_arn as status_arn,
        'Offline' as status_name,
        'OFFLINE' as status_type,
        false as has_reported_type,
        status_events.current_username as username,
        status_events.current_routing_profile_arn as routing_profile_arn
    from status_events
    left join offline_statuses
        on status_events.instance_arn = offline_statuses.instance_arn
    where status_events.event_type = 'LOGOUT'
        and {{ resolved_status_type('status_events.current_status_type',
                                    'status_events.current_status_name') }}
        is distinct from 'OFFLINE'
),

all_observations as (
    select * from observed
    union all
    select * from logouts_keeping_a_status
),

final as (
    select
        *,
        coalesce(status_arn, status_name) as status_key,
        -- the order of the observations of one event: previous, current, logout
        case snapshot when 'previous' then 0 when 'current' then 1 else 2 end as snapshot_order
    from all_observations
)

select * from final
