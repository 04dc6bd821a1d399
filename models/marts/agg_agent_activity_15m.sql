{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy=whole_days_strategy(),
        unique_key='interval_date',
        partition_by=whole_days_partition('interval_date'),
    )
}}

{%- set tz = "'" ~ var('reporting_timezone') ~ "'" %}

-- One row per agent per 15-minute interval (UTC interval_start) in which the agent was
-- logged in. Activity metrics are split into the intervals in which they happened (an
-- open segment counts up to the data horizon); contact-record metrics (contacts handled,
-- non-response, handle and hold time) go to the interval in which the contact ended
-- (the conversation for a handled contact, the offer for a non-response).
-- Thirty-minute, hourly and daily figures are exact sums of these rows.
--
-- Incremental: whole reporting days (interval_date, var `reporting_timezone`) are rebuilt
-- from the first day of any segment that ends within `lookback_days` of the latest stored
-- day, or is open.

with

horizon as (
    select data_horizon_at from {{ ref('int_data_horizon') }}
),

{% if is_incremental() %}
rebuilt_days as (
    {{ first_rebuilt_day('interval_date', ref('fct_agent_activity'), include_open=true) }}
),
{% endif %}

segments as (
    select
        agent_arn,
        started_at,
        coalesce(ended_at, greatest(started_at, (select horizon.data_horizon_at from horizon)))
            as ended_at,
        is_online,
        is_idle,
        is_on_contact,
        is_incoming,
        is_after_contact_work,
        is_error,
        is_npt
    from {{ ref('fct_agent_activity') }}
    {% if is_incremental() %}
    where ended_at is null or ended_at > (select rebuilt_days.first_day_start from rebuilt_days)
    {% endif %}
),

segment_intervals as (
    select
        *,
        {{ series_rows(
            time_bucket_minutes(15, 'started_at'),
            time_bucket_minutes(15, 'greatest(started_at, ended_at - interval 1 microsecond)'),
            'interval 15 minute'
        ) }} as interval_start
    from segments
    where ended_at > started_at
),

-- microseconds as integers: exact sums, whatever the order rows are added in
pieces as (
    select
        *,
        {{ epoch_us('least(ended_at, interval_start + interval 15 minute)') }}
        - {{ epoch_us('greatest(started_at, interval_start)') }} as micros
    from segment_intervals
),

activity as (
    select
        agent_arn,
        interval_start,
        coalesce(sum(micros) filter (where is_online), 0) / 1e6 as online_seconds,
        coalesce(sum(micros) filter (where is_idle), 0) / 1e6 as idle_seconds,
        coalesce(sum(micros) filter (where is_on_contact), 0) / 1e6 as on_contact_seconds,
        coalesce(sum(micros) filter (where is_incoming), 0) / 1e6 as incoming_seconds,
        coalesce(sum(micros) filter (where is_after_contact_work), 0) / 1e6
            as after_contact_work_seconds,
        coalesce(sum(micros) filter (where is_error), 0) / 1e6 as error_seconds,
        coalesce(sum(micros) filter (where is_npt), 0) / 1e6 as npt_seconds,
        sum(micros) / 1e6 as logged_in_seconds
    from pieces
    group by agent_arn, interval_start
),

contacts as (
    select
        agent_arn,
        {{ time_bucket_minutes(15, 'coalesce(ended_at, cleared_at)') }} as interval_start,
        count(*) as contacts_handled,
        sum(round(handle_seconds * 1e6)::bigint) / 1e6 as handle_seconds,
        sum(round(contact_handle_seconds * 1e6)::bigint) / 1e6 as contact_handle_seconds,
        sum(round(hold_seconds * 1e6)::bigint) / 1e6 as hold_seconds,
        sum(round(interaction_seconds * 1e6)::bigint) / 1e6 as interaction_seconds,
        sum(round(after_contact_work_seconds * 1e6)::bigint) / 1e6
            as contact_after_contact_work_seconds
    from {{ ref('fct_agent_contacts') }}
    where is_handled and coalesce(ended_at, cleared_at) is not null
        {% if is_incremental() %}
        and coalesce(ended_at, cleared_at)
        >= (select rebuilt_days.first_day_start from rebuilt_days)
        {% endif %}
    group by agent_arn, {{ time_bucket_minutes(15, 'coalesce(ended_at, cleared_at)') }}
),

non_responses as (
    select
        agent_arn,
        {{ time_bucket_minutes(15, 'non_response_at') }} as interval_start,
        count(*) as contacts_missed
    from {{ ref('fct_agent_contacts') }}
    where is_non_response
        {% if is_incremental() %}
        and non_response_at >= (select rebuilt_days.first_day_start from rebuilt_days)
        {% endif %}
    group by agent_arn, {{ time_bucket_minutes(15, 'non_response_at') }}
),

joined as (
    select
        coalesce(activity.agent_arn, contacts.agent_arn, non_responses.agent_arn) as agent_arn,
        coalesce(activity.interval_start, contacts.interval_start, non_responses.interval_start)
            as interval_start,
        coalesce(activity.online_seconds, 0) as online_seconds,
        coalesce(activity.idle_seconds, 0) as idle_seconds,
        coalesce(activity.on_contact_seconds, 0) as on_contact_seconds,
        coalesce(activity.incoming_seconds, 0) as incoming_seconds,
        coalesce(activity.after_contact_work_seconds, 0) as after_contact_work_seconds,
        coalesce(activity.error_seconds, 0) as error_seconds,
        coalesce(activity.npt_seconds, 0) as npt_seconds,
        coalesce(activity.logged_in_seconds, 0) as logged_in_seconds,
        coalesce(contacts.contacts_handled, 0) as contacts_handled,
        coalesce(non_responses.contacts_missed, 0) as contacts_missed,
        coalesce(contacts.handle_seconds, 0) as handle_seconds,
        coalesce(contacts.contact_handle_seconds, 0) as contact_handle_seconds,
        coalesce(contacts.hold_seconds, 0) as hold_seconds,
        coalesce(contacts.interaction_seconds, 0) as interaction_seconds,
        coalesce(contacts.contact_after_contact_work_seconds, 0)
            as contact_after_contact_work_seconds
    from activity
    full outer join contacts
        on activity.agent_arn = contacts.agent_arn
        and activity.interval_start = contacts.interval_start
    full outer join non_responses
        on coalesce(activity.agent_arn, contacts.agent_arn) = non_responses.agent_arn
        and coalesce(activity.interval_start, contacts.interval_start)
        = non_responses.interval_start
),

final as (
    select
        {{ surrogate_key(['agent_arn', epoch_us('interval_start')]) }} as agent_interval_id,
        agent_arn,
        interval_start,
        interval_start + interval 15 minute as interval_end,
        {{ local_time(tz, 'interval_start') }}::date as interval_date,
        online_seconds,
        idle_seconds,
        on_contact_seconds,
        incoming_seconds,
        after_contact_work_seconds,
        error_seconds,
        npt_seconds,
        logged_in_seconds,
        contacts_handled,
        contacts_missed,
        handle_seconds,
        contact_handle_seconds,
        hold_seconds,
        interaction_seconds,
        contact_after_contact_work_seconds,
        -- Connect's occupancy: on contact / (on contact + agent idle time), where agent idle
        -- time includes the time contacts were in error
        case when on_contact_seconds + idle_seconds + error_seconds > 0
                then on_contact_seconds / (on_contact_seconds + idle_seconds + error_seconds)
        end as occupancy
    from joined
    {% if is_incremental() %}
    where {{ local_time(tz, 'interval_start') }}::date
        >= (select rebuilt_days.first_day from rebuilt_days)
    {% endif %}
)

select * from final
