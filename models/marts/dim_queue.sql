-- One row per queue ARN seen in a routing profile or on a contact: latest name and
-- channels. Agent queues (one per agent, Name null) are flagged.

with

routing_profile_queues as (
    -- the queues of both snapshots' routing-profile configurations, per event
    select
        queues.queue_arn,
        queues.queue_name,
        queues.channels,
        events.event_timestamp as observed_at,
        events.event_id
    from {{ ref('stg_agent_events') }} as events
    inner join {{ ref('stg_agent_event_queues') }} as queues
        on events.current_routing_profile_configuration_key
        = queues.routing_profile_configuration_key
    union all
    select
        queues.queue_arn,
        queues.queue_name,
        queues.channels,
        events.event_timestamp as observed_at,
        events.event_id
    from {{ ref('stg_agent_events') }} as events
    inner join {{ ref('stg_agent_event_queues') }} as queues
        on events.previous_routing_profile_configuration_key
        = queues.routing_profile_configuration_key
),

contact_queues as (
    select
        queue_arn,
        queue_name,
        null::varchar[] as channels,
        observed_at,
        event_id
    from {{ ref('int_contact_states') }}
),

sightings as (
    select * from routing_profile_queues
    union all
    select * from contact_queues
),

final as (
    select
        queue_arn,
        arg_max(queue_name, (observed_at, event_id)) filter (where queue_name is not null)
            as queue_name,
        arg_max(channels, (observed_at, event_id)) filter (where channels is not null)
            as channels,
        count(queue_name) = 0 or queue_arn like '%/queue/agent/%' as is_agent_queue,
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at
    from sightings
    where queue_arn is not null
    group by queue_arn
)

select * from final
