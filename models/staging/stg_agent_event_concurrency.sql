-- One row per channel of a routing-profile configuration's concurrency (stored once per
-- configuration; events reference it by key).

with

concurrency as (
    select * from {{ source('connect', 'agent_event_concurrency') }}
),

final as (
    select
        routing_profile_configuration_key,
        upper(channel) as channel,
        available_slots,
        maximum_slots
    from concurrency
)

select * from final
