{#- Data-quality tests: they warn (never fail the night) and return the offending rows. -#}

{#- Any row of an event-gaps model is a likely data loss. -#}
{% test no_event_gaps(model) %}
{{ config(severity='warn') }}

select * from {{ model }}

{% endtest %}


{#- Hours flagged in column_name (no object arrived while agents were logged in). -#}
{% test no_missing_hours(model, column_name) %}
{{ config(severity='warn') }}

select * from {{ model }}
where {{ column_name }}

{% endtest %}


{#- Rows whose rate in column_name is above max_rate (a fraction: 0.05 is 5%). -#}
{% test rate_at_most(model, column_name, max_rate) %}
{{ config(severity='warn') }}

select * from {{ model }}
where {{ column_name }} > {{ max_rate }}

{% endtest %}
