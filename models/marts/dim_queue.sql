{{ config(materialized=incremental_materialization(), unique_key='queue_arn') }}

{%- set window_start = lookback_window_start('last_seen_at') if is_incremental()
    else timestamp_min() %}

-- One row per queue ARN seen in a routing profile or on a contact: latest name and
-- channels. Agent queues (one per agent, Name null) are flagged.
--
-- Incremental (merge on queue_arn): the sightings within `lookback_days` of the latest
-- stored one update the stored rows of their queues: a name or channels seen in the
-- window win over the stored ones (every sighting of the window is read again, so late
-- ones count in their place), first and last sightings widen.

with

event_configurations as (
    -- both snapshots' routing-profile configurations, per event
    select
        event_id,
        event_timestamp as observed_at,
        {{ unnest_values([
            'current_routing_profile_configuration_key',
            'previous_routing_profile_configuration_key'
        ]) }} as routing_profile_configuration_key
    from {{ ref('stg_agent_events') }}
),

routing_profile_queues as (
    select
        queues.queue_arn,
        queues.queue_name,
        queues.channels,
        event_configurations.observed_at,
        event_configurations.event_id
    from event_configurations
    inner join {{ ref('stg_agent_event_queues') }} as queues
        on event_configurations.routing_profile_configuration_key
        = queues.routing_profile_configuration_key
),

contact_queues as (
    select
        queue_arn,
        queue_name,
        cast(null as {{ type_string_list() }}) as channels,
        observed_at,
        event_id
    from {{ ref('int_contact_states') }}
),

all_sightings as (
    select * from routing_profile_queues
    union all
    select * from contact_queues
),

sightings as (
    select * from all_sightings
    where queue_arn is not null
        and observed_at >= {{ window_start }}
),

sighted_queues as (
    select
        queue_arn,
        {{ arg_max('queue_name', ['observed_at', 'event_id']) }}
        filter (where queue_name is not null) as queue_name,
        {{ arg_max('channels', ['observed_at', 'event_id']) }}
        filter (where channels is not null) as channels,
        count(queue_name) = 0 as is_never_named,
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at
    from sightings
    group by queue_arn
),

final as (
    select
        sighted_queues.queue_arn,
        {% if is_incremental() %}
        coalesce(sighted_queues.queue_name, stored_queues.queue_name) as queue_name,
        coalesce(sighted_queues.channels, stored_queues.channels) as channels,
        (sighted_queues.is_never_named and stored_queues.queue_name is null)
        or sighted_queues.queue_arn like '%/queue/agent/%' as is_agent_queue,
        least(sighted_queues.first_seen_at, stored_queues.first_seen_at) as first_seen_at,
        greatest(sighted_queues.last_seen_at, stored_queues.last_seen_at) as last_seen_at
        {% else %}
        sighted_queues.queue_name,
        sighted_queues.channels,
        sighted_queues.is_never_named
        or sighted_queues.queue_arn like '%/queue/agent/%' as is_agent_queue,
        sighted_queues.first_seen_at,
        sighted_queues.last_seen_at
        {% endif %}
    from sighted_queues
    {% if is_incremental() %}
    left join {{ this }} as stored_queues
        on sighted_queues.queue_arn = stored_queues.queue_arn
    {% endif %}
)

select * from final
