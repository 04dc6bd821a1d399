{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='window_replace',
        unique_key='interval_id',
        window_column='started_at',
        stale_rows='greatest(started_at, last_seen_at) >= {window_start}',
    )
}}

-- One row per agent per status interval. An interval is a distinct (agent, status start
-- time, status) seen in a current or previous snapshot; it ends where the agent's next
-- interval starts (NULL while open). A LOGOUT ends the status in force (see
-- int_agent_status_observations: an Offline interval starts at every LOGOUT). Attributes
-- come from all of the interval's observations, so the result does not depend on the
-- order events arrived in.
--
-- Incremental: intervals observed within `lookback_days` of the latest stored start, and
-- the stored intervals that started or were last seen in that window, are rebuilt from all
-- of their observations; the stored intervals of the same agents from the earliest rebuilt
-- one on (and the one just before it) are re-sequenced so that their ends follow late or
-- new intervals. Strategy window_replace: a stored interval of the window that no
-- observation shows any more (late data moved its start) is deleted.

with

{% if is_incremental() %}
touched_intervals as (
    select agent_arn, status_started_at, status_key
    from {{ ref('int_agent_status_observations') }}
    where greatest(observed_at, status_started_at) >= {{ lookback_window_start('started_at') }}
    union
    select agent_arn, started_at as status_started_at, status_key
    from {{ this }}
    where greatest(started_at, last_seen_at) >= {{ lookback_window_start('started_at') }}
),
{% endif %}

observations as (
    select observations.*
    from {{ ref('int_agent_status_observations') }} as observations
    {% if is_incremental() %}
    inner join touched_intervals
        on observations.agent_arn = touched_intervals.agent_arn
        and observations.status_started_at = touched_intervals.status_started_at
        and observations.status_key = touched_intervals.status_key
    {% endif %}
),

observed_intervals as (
    select
        {{ surrogate_key(['agent_arn', epoch_us('status_started_at'), 'status_key']) }}
            as interval_id,
        agent_arn,
        status_started_at as started_at,
        status_key,
        {{ observed_value('status_arn', ignore_nulls=false) }} as status_arn,
        {{ observed_value('status_name', ignore_nulls=false) }} as status_name,
        -- a reported Type wins over one filled in from the name
        {{ arg_max(
            'status_type',
            ['coalesce(has_reported_type, false)', 'observed_at', 'snapshot_order', 'event_id']
        ) }}
        filter (where status_type is not null) as status_type,
        -- configuration in force at the start: from the interval's earliest observation
        {{ observed_value('username', 'earliest') }} as username,
        {{ observed_value('routing_profile_arn', 'earliest') }} as routing_profile_arn,
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at,
        count(distinct event_id) as observing_events
    from observations
    group by agent_arn, status_started_at, status_key
),

{% if is_incremental() %}
rebuilt_agents as (
    select agent_arn, min(status_started_at) as earliest_rebuilt_start
    from touched_intervals
    group by agent_arn
),

stored_intervals as (
    select stored_rows.*, rebuilt_agents.earliest_rebuilt_start
    from {{ this }} as stored_rows
    inner join rebuilt_agents on stored_rows.agent_arn = rebuilt_agents.agent_arn
    -- a touched interval is rebuilt from its observations, or is gone (its key moved)
    anti join touched_intervals
        on stored_rows.agent_arn = touched_intervals.agent_arn
        and stored_rows.started_at = touched_intervals.status_started_at
        and stored_rows.status_key = touched_intervals.status_key
),

stored_interval_before_rebuilt as (
    select *
    from stored_intervals
    where started_at < earliest_rebuilt_start
    window latest_first as (partition by agent_arn order by started_at desc, status_key desc)
    qualify row_number() over latest_first = 1
),

stored_neighbours as (
    select * from stored_intervals
    where started_at >= earliest_rebuilt_start
    union all
    select * from stored_interval_before_rebuilt
),
{% endif %}

all_intervals as (
    select
        interval_id, agent_arn, started_at, status_key, status_arn, status_name, status_type,
        username, routing_profile_arn, first_seen_at, last_seen_at, observing_events
    from observed_intervals
    {% if is_incremental() %}
    union all
    select
        interval_id, agent_arn, started_at, status_key, status_arn, status_name, status_type,
        username, routing_profile_arn, first_seen_at, last_seen_at, observing_events
    from stored_neighbours
    {% endif %}
),

sequenced as (
    select
        *,
        lead(started_at) over (partition by agent_arn order by started_at, status_key)
            as ended_at
    from all_intervals
),

agent_versions as (
    select agent_key, agent_arn, version_number, valid_from, valid_to
    from {{ ref('dim_agent') }}
),

routing_profile_versions as (
    select routing_profile_key, routing_profile_arn, version_number, valid_from, valid_to
    from {{ ref('dim_routing_profile') }}
),

final as (
    select
        sequenced.interval_id,
        sequenced.agent_arn,
        agent_versions.agent_key,
        sequenced.username,
        sequenced.status_name,
        sequenced.status_arn,
        sequenced.status_type,
        sequenced.started_at,
        sequenced.ended_at,
        ({{ epoch_us('sequenced.ended_at') }} - {{ epoch_us('sequenced.started_at') }}) / 1e6
            as duration_seconds,
        sequenced.ended_at is null as is_open,
        sequenced.routing_profile_arn,
        routing_profile_versions.routing_profile_key,
        sequenced.status_key,
        sequenced.first_seen_at,
        sequenced.last_seen_at,
        sequenced.observing_events
    from sequenced
    -- the dimension version in force at the start (the first version for a status that
    -- started before the agent's first event)
    left join agent_versions
        on {{ version_in_force(
            'agent_versions', 'agent_arn', 'sequenced.agent_arn', 'sequenced.started_at'
        ) }}
    left join routing_profile_versions
        on {{ version_in_force(
            'routing_profile_versions', 'routing_profile_arn',
            'sequenced.routing_profile_arn', 'sequenced.started_at'
        ) }}
)

select * from final
