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
        - coalesce((epoch_us(ended_at) - epoch_us(started_at)) / 1e6, -1)) > 0.001

{% endtest %}


{#- Generic test on agg_agent_status_daily: per agent and status, the daily seconds add up
    to the seconds of the closed intervals in `intervals`. -#}
{% test daily_seconds_add_up(model, intervals) %}

with daily as (
    select agent_arn, status_name, sum(seconds) as daily_seconds
    from {{ model }}
    group by agent_arn, status_name
),

closed as (
    select agent_arn, status_name, sum(duration_seconds) as interval_seconds
    from {{ intervals }}
    where ended_at is not null
    group by agent_arn, status_name
)

select *
from closed
full outer join daily using (agent_arn, status_name)
where abs(coalesce(interval_seconds, 0) - coalesce(daily_seconds, 0)) > 0.01

{% endtest %}
