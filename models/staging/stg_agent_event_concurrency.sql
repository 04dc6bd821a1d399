-- One row per channel of a snapshot's routing profile, chosen copy of each event only.

with

concurrency as (
    select * from {{ source('connect', 'agent_event_concurrency') }}
),

chosen_copies as (
    select event_id, source_object, byte_offset
    from {{ ref('stg_agent_events') }}
),

final as (
    select
        concurrency.event_id,
        concurrency.snapshot,
        upper(concurrency.channel) as channel,
        concurrency.available_slots,
        concurrency.maximum_slots
    from concurrency
    inner join chosen_copies
        on concurrency.event_id = chosen_copies.event_id
        and concurrency.source_object = chosen_copies.source_object
        and concurrency.byte_offset = chosen_copies.byte_offset
)

select * from final
