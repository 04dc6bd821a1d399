-- One row per event whose current snapshot carries a routing profile: the profile's
-- versioned attributes as seen at that event time (AvailableSlots is state, not kept).

with

events as (
    select
        event_id,
        event_timestamp,
        current_routing_profile_arn,
        current_routing_profile_name,
        current_routing_profile_configuration_key
    from {{ ref('stg_agent_events') }}
    where current_routing_profile_arn is not null
),

concurrency as (
    select
        routing_profile_configuration_key,
        max(maximum_slots) filter (where channel = 'VOICE') as voice_max_slots,
        max(maximum_slots) filter (where channel = 'CHAT') as chat_max_slots,
        max(maximum_slots) filter (where channel in ('TASK', 'TASKS')) as task_max_slots,
        {{ ordered_list(
            "channel || '=' || coalesce(cast(maximum_slots as " ~ dbt.type_string() ~ "), '')",
            'channel'
        ) }} as channel_max_slots
    from {{ ref('stg_agent_event_concurrency') }}
    where channel is not null
    group by routing_profile_configuration_key
),

configuration_queues as (
    select
        routing_profile_configuration_key,
        queue_arn,
        is_default_outbound,
        -- the agent's own queue (Name null) is listed per agent, not part of the profile
        (
            not is_default_outbound
            and queue_name is not null
            and queue_arn not like '%/queue/agent/%'
        ) as is_profile_inbound_queue
    from {{ ref('stg_agent_event_queues') }}
),

queues as (
    select
        routing_profile_configuration_key,
        max(queue_arn) filter (where is_default_outbound) as default_outbound_queue_arn,
        {{ sorted_distinct_list('queue_arn', 'is_profile_inbound_queue') }} as inbound_queue_arns
    from configuration_queues
    group by routing_profile_configuration_key
),

joined as (
    select
        events.current_routing_profile_arn as routing_profile_arn,
        events.event_id,
        events.event_timestamp as observed_at,
        events.current_routing_profile_name as routing_profile_name,
        concurrency.voice_max_slots,
        concurrency.chat_max_slots,
        concurrency.task_max_slots,
        coalesce(
            concurrency.channel_max_slots,
            cast({{ empty_list() }} as {{ type_string_list() }})
        ) as channel_max_slots,
        queues.default_outbound_queue_arn,
        coalesce(
            queues.inbound_queue_arns, cast({{ empty_list() }} as {{ type_string_list() }})
        ) as inbound_queue_arns
    from events
    left join concurrency
        on events.current_routing_profile_configuration_key
        = concurrency.routing_profile_configuration_key
    left join queues
        on events.current_routing_profile_configuration_key
        = queues.routing_profile_configuration_key
),

final as (
    select
        *,
        {{ json_object_md5({
            'name': 'routing_profile_name',
            'max_slots': 'channel_max_slots',
            'outbound': 'default_outbound_queue_arn',
            'inbound': 'inbound_queue_arns'
        }) }} as attributes_hash
    from joined
)

select * from final
