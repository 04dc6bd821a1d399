{#- For an incremental model: the start of its look-back window, as a scalar subquery:
    `lookback_days` (dbt var) before the latest `column` already stored in {{ this }}
    (-infinity while it is empty). Late events and intervals left open last night fall in
    the window, so they are rebuilt. -#}
{% macro lookback_window_start(column) -%}
    (
        select coalesce(max({{ column }}), {{ timestamp_min() }})
            - {{ days_interval(var('lookback_days')) }}
        from {{ this }}
    )
{%- endmacro %}


{#- For an incremental model of whole reporting days (var `reporting_timezone`): a one-row
    query of the first day it rebuilds, `first_day`, and that day's start, `first_day_start`
    (a timestamptz). The window starts `lookback_days` before the latest stored
    `date_column`; the first day is the earliest local day of any row of `segments`
    (started_at, ended_at) that ends inside that window (or is still open, when
    include_open), and never after the window's own first day: a segment closed tonight
    after a long open stretch pulls the rebuild back to its first day. Without include_open,
    an open segment still pulls it back once, the night it appears: when {{ this }} has no
    row with its `match_columns` on its first day (late data about a status that started
    before the window). -#}
{% macro first_rebuilt_day(date_column, segments, include_open=false, match_columns=['agent_arn']) -%}
    {%- set tz = "'" ~ var('reporting_timezone') ~ "'" -%}
    with stored_window as (
        select
            {{ instant_of_local_time(
                tz, 'cast(max(' ~ date_column ~ ') - ' ~ var('lookback_days') ~ ' as timestamp)'
            ) }} as window_start
        from {{ this }}
    ),

    first_day as (
        select
            coalesce(
                least(
                    min(cast({{ local_time(tz, 'started_at') }} as date)),
                    (
                        select cast({{ local_time(tz, 'stored_window.window_start') }} as date)
                        from stored_window
                    )
                ),
                {{ date_min() }}
            ) as first_day
        from {{ segments }} as segments
        where {% if include_open %}ended_at is null or {% endif -%}
            ended_at >= (select stored_window.window_start from stored_window)
            {%- if not include_open %}
            or (
                ended_at is null
                and not exists (
                    select 1
                    from {{ this }} as stored
                    where stored.{{ date_column }} = cast({{ local_time(tz, 'segments.started_at') }} as date)
                    {%- for column in match_columns %}
                        and stored.{{ column }} = segments.{{ column }}
                    {%- endfor %}
                )
            )
            {%- endif %}
    )

    select
        first_day,
        {{ instant_of_local_time(tz, 'cast(first_day as timestamp)') }} as first_day_start
    from first_day
{%- endmacro %}
