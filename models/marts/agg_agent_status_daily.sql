{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy=whole_days_strategy(),
        unique_key='activity_date',
        partition_by=whole_days_partition('activity_date'),
    )
}}

{%- set tz = "'" ~ var('reporting_timezone') ~ "'" %}

-- Seconds per agent, day and status (keyed by the status ARN; the name is the latest
-- one seen): intervals split at midnight in the reporting time zone (var
-- `reporting_timezone`); an open interval counts up to the data horizon (the latest
-- event time).
--
-- Incremental: whole days are rebuilt from the first day of any interval that ends
-- within `lookback_days` of the latest stored day (an interval closed tonight after a long
-- open stretch pulls the rebuild back to its first day, and so does an open interval seen
-- for the first time, once).

with

horizon as (
    select data_horizon_at from {{ ref('int_data_horizon') }}
),

{% if is_incremental() %}
rebuilt_days as (
    {{ first_rebuilt_day(
        'activity_date', ref('fct_agent_status'), match_columns=['agent_arn', 'status_key']
    ) }}
),
{% endif %}

intervals as (
    select
        agent_arn,
        status_key,
        status_arn,
        status_name,
        status_type,
        started_at,
        coalesce(ended_at, greatest(started_at, (select horizon.data_horizon_at from horizon)))
            as ended_at
    from {{ ref('fct_agent_status') }}
    {% if is_incremental() %}
    where ended_at is null
        or ended_at > (select rebuilt_days.first_day_start from rebuilt_days)
    {% endif %}
),

interval_days as (
    select
        *,
        {{ series_rows(
            local_time(tz, 'started_at') ~ '::date::timestamp',
            local_time(tz, 'ended_at') ~ '::date::timestamp',
            'interval 1 day'
        ) }} as local_midnight
    from intervals
),

day_segments as (
    select
        agent_arn,
        status_key,
        status_arn,
        status_name,
        status_type,
        started_at,
        local_midnight::date as activity_date,
        greatest(started_at, {{ instant_of_local_time(tz, 'local_midnight') }}) as segment_start,
        least(
            ended_at, {{ instant_of_local_time(tz, 'local_midnight + interval 1 day') }}
        ) as segment_end
    from interval_days
),

final as (
    select
        agent_arn,
        activity_date,
        status_key,
        {{ arg_max('status_arn', 'started_at') }} as status_arn,
        {{ arg_max('status_name', 'started_at') }} as status_name,
        {{ arg_max('status_type', 'started_at') }} as status_type,
        sum({{ epoch_us('segment_end') }} - {{ epoch_us('segment_start') }}) / 1e6 as seconds,
        count(*) as interval_segments
    from day_segments
    where segment_end > segment_start
        {% if is_incremental() %}
        and activity_date >= (select rebuilt_days.first_day from rebuilt_days)
        {% endif %}
    group by agent_arn, activity_date, status_key
)

select * from final
