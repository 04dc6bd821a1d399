-- One row per channel of a snapshot's routing profile, chosen copy of each event only.

with

concurrency as (
    {{ chosen_copy_rows('agent_event_concurrency') }}
),

final as (
    select
        event_id,
        snapshot,
        upper(channel) as channel,
        available_slots,
        maximum_slots
    from concurrency
)

select * from final
