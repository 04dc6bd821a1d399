-- One row per UTC day of event time: records received (every Firehose copy), distinct
-- events, and the share of records that were duplicate deliveries of an event.
--
-- Incremental: whole days from `lookback_days` before the latest stored day are rebuilt
-- (delete+insert on event_date).

{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy=whole_days_strategy(),
        unique_key='event_date',
        partition_by=whole_days_partition('event_date'),
    )
}}

with

events as (
    select event_timestamp, copies_received from {{ ref('stg_agent_events') }}
    {% if is_incremental() %}
    where event_timestamp >= (
            select
                {{ instant_of_local_time(
                    "'UTC'",
                    '(max(stored_days.event_date) - ' ~ var('lookback_days') ~ ')::timestamp'
                ) }}
            from {{ this }} as stored_days
        )
    {% endif %}
),

final as (
    select
        {{ local_time("'UTC'", 'event_timestamp') }}::date as event_date,
        sum(copies_received)::bigint as records_received,
        count(*) as distinct_events,
        (sum(copies_received) - count(*))::bigint as duplicate_records,
        count(*) filter (where copies_received > 1) as duplicated_events,
        (sum(copies_received) - count(*)) / sum(copies_received) as duplicate_rate
    from events
    group by 1
)

select * from final
