-- One row per UTC day of event time: records received (every Firehose copy), distinct
-- events, and the share of records that were duplicate deliveries of an event.

with

events as (
    select event_timestamp, copies_received from {{ ref('stg_agent_events') }}
),

final as (
    select
        timezone('UTC', event_timestamp)::date as event_date,
        sum(copies_received)::bigint as records_received,
        count(*) as distinct_events,
        (sum(copies_received) - count(*))::bigint as duplicate_records,
        count(*) filter (where copies_received > 1) as duplicated_events,
        (sum(copies_received) - count(*)) / sum(copies_received) as duplicate_rate
    from events
    group by 1
)

select * from final
