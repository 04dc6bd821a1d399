{#- Generic tests of the agent-activity marts (Connect's agent activity). Each returns the
    offending rows. -#}

{#- Per session, activity segments tile the session: the first starts at the login, each
    ends where the next starts, the last ends at the logout (open only while the session
    is), and durations match. -#}
{% test segments_tile_sessions(model, sessions) %}

with sequenced as (
    select
        segments.*,
        lead(segments.started_at) over session_order as next_started_at,
        row_number() over session_order as position,
        count(*) over (partition by segments.session_id) as segments_in_session
    from {{ model }} as segments
    window session_order as (partition by segments.session_id order by segments.started_at)
),

checked as (
    select sequenced.*, sessions.login_at, sessions.logout_at
    from sequenced
    left join {{ sessions }} as sessions on sequenced.session_id = sessions.session_id
)

select *
from checked
where login_at is null
    or (position = 1 and started_at <> login_at)
    or (position < segments_in_session and ended_at is distinct from next_started_at)
    or (position = segments_in_session and ended_at is distinct from logout_at)
    or ended_at <= started_at
    or abs(coalesce(duration_seconds, -1)
        - coalesce(({{ epoch_us('ended_at') }} - {{ epoch_us('started_at') }}) / 1e6, -1)) > 0.001

{% endtest %}


{#- Every session has at least one segment. -#}
{% test every_session_has_segments(model, segments) %}

select sessions.*
from {{ model }} as sessions
left join (select distinct session_id from {{ segments }}) as segments
    on sessions.session_id = segments.session_id
where segments.session_id is null

{% endtest %}


{#- Per agent and 15-minute interval, no more than 900 s online (nor logged in). -#}
{% test at_most_one_interval_of_seconds(model, column_name, seconds=900) %}

select *
from {{ model }}
where {{ column_name }} > {{ seconds }} + 0.001

{% endtest %}


{#- Over time in a ROUTABLE status (Available), idle + on contact + incoming + error
    seconds equal the status's seconds, per agent and 15-minute interval of the segments. -#}
{% test available_time_is_fully_classified(model) %}

select *
from (
    select
        session_id,
        sum(duration_seconds) as available_seconds,
        sum(duration_seconds) filter (where is_idle) as idle_seconds,
        sum(duration_seconds) filter (where is_on_contact) as on_contact_seconds,
        sum(duration_seconds) filter (where is_incoming) as incoming_seconds,
        sum(duration_seconds) filter (where is_error) as error_seconds,
        count(*) filter (
            where (is_idle::int + is_on_contact::int + is_incoming::int + is_error::int) <> 1
        ) as segments_not_in_exactly_one_class
    from {{ model }}
    where status_type = 'ROUTABLE' and ended_at is not null
    group by session_id
)
where segments_not_in_exactly_one_class > 0
    or abs(available_seconds - coalesce(idle_seconds, 0) - coalesce(on_contact_seconds, 0)
        - coalesce(incoming_seconds, 0) - coalesce(error_seconds, 0)) > 0.001

{% endtest %}


{#- Per agent and day, the 15-minute online seconds add up to the online time (statuses
    other than OFFLINE) of the daily status aggregate. -#}
{% test online_seconds_match_daily_statuses(model, daily) %}

with from_intervals as (
    select agent_arn, interval_date as activity_date, sum(online_seconds) as interval_online
    from {{ model }}
    group by 1, 2
),

from_daily as (
    select agent_arn, activity_date, sum(seconds) as daily_online
    from {{ daily }}
    where status_type is distinct from 'OFFLINE'
    group by 1, 2
)

select *
from from_intervals
full outer join from_daily using (agent_arn, activity_date)
where abs(coalesce(interval_online, 0) - coalesce(daily_online, 0)) > 0.01

{% endtest %}


{#- A ratio column lies between 0 and 1 (NULL allowed). -#}
{% test between_zero_and_one(model, column_name) %}

select *
from {{ model }}
where {{ column_name }} < 0 or {{ column_name }} > 1

{% endtest %}
