{#- Generic test on fct_agent_status: per agent, each interval ends exactly where the next
    one starts (no overlap, no gap), only the last one is open, and durations match. -#}
{% test intervals_are_contiguous(model) %}

with sequenced as (
    select
        *,
        lead(started_at) over (partition by agent_arn order by started_at, status_key)
            as next_started_at
    from {{ model }}
)

select *
from sequenced
where ended_at is distinct from next_started_at
    or ended_at < started_at
    or abs(coalesce(duration_seconds, -1)
        - coalesce(({{ epoch_us('ended_at') }} - {{ epoch_us('started_at') }}) / 1e6, -1)) > 0.001

{% endtest %}


{#- Generic test on agg_agent_status_daily: per agent and status, the daily seconds add up
    to the seconds of the intervals in `intervals`, an open one counted up to the data
    horizon of `horizon`. -#}
{% test daily_seconds_add_up(model, intervals, horizon) %}

with daily as (
    select agent_arn, status_key, sum(seconds) as daily_seconds
    from {{ model }}
    group by agent_arn, status_key
),

intervals as (
    select
        agent_arn,
        status_key,
        sum(
            {{ epoch_us('coalesce(ended_at, greatest(started_at, (select max(data_horizon_at) from ' ~ horizon ~ ')))') }}
            - {{ epoch_us('started_at') }}
        ) / 1e6 as interval_seconds
    from {{ intervals }}
    group by agent_arn, status_key
)

select *
from intervals
full outer join daily using (agent_arn, status_key)
where abs(coalesce(interval_seconds, 0) - coalesce(daily_seconds, 0)) > 0.01

{% endtest %}
