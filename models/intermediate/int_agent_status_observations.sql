-- One row per agent status seen in a snapshot: the current snapshot of every event and
-- the previous snapshot when there is one (a LOGIN may have none). HEART_BEATs are left
-- out: they confirm state and go on for up to an hour after logout, so they never
-- create an interval.

with

status_events as (
    select *
    from {{ ref('stg_agent_events') }}
    where event_type <> 'HEART_BEAT'
),

current_snapshots as (
    select
        agent_arn,
        event_id,
        event_type,
        event_timestamp as observed_at,
        'current' as snapshot,
        current_status_started_at as status_started_at,
        current_status_arn as status_arn,
        current_status_name as status_name,
        current_status_type as status_type,
        current_username as username,
        current_routing_profile_arn as routing_profile_arn
    from status_events
    where current_status_started_at is not null
),

previous_snapshots as (
    select
        agent_arn,
        event_id,
        event_type,
        event_timestamp as observed_at,
        'previous' as snapshot,
        previous_status_started_at as status_started_at,
        previous_status_arn as status_arn,
        previous_status_name as status_name,
        previous_status_type as status_type,
        previous_username as username,
        previous_routing_profile_arn as routing_profile_arn
    from status_events
    where has_previous_snapshot and previous_status_started_at is not null
),

snapshots as (
    select * from current_snapshots
    union all
    select * from previous_snapshots
),

final as (
    select
        *,
        coalesce(status_arn, status_name) as status_key,
        -- a previous snapshot shows the state just before its event's current one
        case snapshot when 'previous' then 0 else 1 end as snapshot_order
    from snapshots
)

select * from final
