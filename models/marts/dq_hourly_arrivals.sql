-- One row per UTC hour from the first to the last hour with an event or an arriving
-- object: objects that arrived at Firehose in the hour, events whose event time is in the
-- hour, and agents logged in during the hour. An hour with agents logged in and no
-- object arriving is flagged: its data is missing (or has not arrived yet).
--
-- Incremental: the hours from `lookback_days` before the latest stored hour on are rebuilt
-- (delete+insert on hour_start).

{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='hour_start',
    )
}}

{%- set window_start = lookback_window_start('hour_start') if is_incremental()
    else timestamp_min() %}

with

object_arrivals as (
    select * from {{ ref('int_object_arrivals') }}
    where arrival_hour >= {{ window_start }}
),

events as (
    select event_id, event_timestamp from {{ ref('stg_agent_events') }}
    where event_timestamp >= {{ window_start }}
),

logged_in_stretches as (
    select agent_arn, event_timestamp as started_at, logged_in_until as ended_at
    from {{ ref('int_agent_event_sequence') }}
    where is_logged_in and logged_in_until >= {{ window_start }}
),

bounds as (
    select
        greatest(
            least(
                (select date_trunc('hour', min(event_timestamp)) from events),
                (select min(arrival_hour) from object_arrivals)
                {%- if is_incremental() %},
                (select min(stored_hours.hour_start) from {{ this }} as stored_hours)
                {%- endif %}
            ),
            {{ window_start }}
        ) as first_hour,
        greatest(
            (select date_trunc('hour', max(event_timestamp)) from events),
            (select max(arrival_hour) from object_arrivals)
        ) as last_hour
),

hours as (
    select {{ series_rows('first_hour', 'last_hour', 'interval 1 hour') }} as hour_start
    from bounds
    where first_hour is not null
),

arrivals_per_hour as (
    select
        arrival_hour as hour_start,
        count(*) as objects_arrived,
        sum(records) as records_arrived,
        sum(rejected) as records_rejected
    from object_arrivals
    group by arrival_hour
),

events_per_hour as (
    select date_trunc('hour', event_timestamp) as hour_start, count(*) as events
    from events
    group by date_trunc('hour', event_timestamp)
),

logged_in_hours as (
    select
        agent_arn,
        -- a stretch ending exactly on the hour does not reach into that hour
        {{ series_rows(
            "date_trunc('hour', started_at)",
            "date_trunc('hour', greatest(started_at, ended_at - interval 1 microsecond))",
            'interval 1 hour'
        ) }} as hour_start
    from logged_in_stretches
),

agents_per_hour as (
    select hour_start, count(distinct agent_arn) as agents_logged_in
    from logged_in_hours
    group by hour_start
),

final as (
    select
        hours.hour_start,
        hours.hour_start + interval 1 hour as hour_end,
        coalesce(arrivals_per_hour.objects_arrived, 0) as objects_arrived,
        coalesce(arrivals_per_hour.records_arrived, 0) as records_arrived,
        coalesce(arrivals_per_hour.records_rejected, 0) as records_rejected,
        coalesce(events_per_hour.events, 0) as events,
        coalesce(agents_per_hour.agents_logged_in, 0) as agents_logged_in,
        (
            coalesce(agents_per_hour.agents_logged_in, 0) > 0
            and coalesce(arrivals_per_hour.objects_arrived, 0) = 0
        ) as is_missing_data
    from hours
    left join arrivals_per_hour on hours.hour_start = arrivals_per_hour.hour_start
    left join events_per_hour on hours.hour_start = events_per_hour.hour_start
    left join agents_per_hour on hours.hour_start = agents_per_hour.hour_start
)

select * from final
