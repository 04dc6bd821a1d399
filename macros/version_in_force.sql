{#- A join condition: the version of an SCD type 2 relation `versions` (valid_from,
    valid_to, version_number) whose `key` equals `fact_key` and that was in force at `at`.
    The first version also covers the time before it was first seen (a status or contact
    that started before the agent's first event). -#}
{% macro version_in_force(versions, key, fact_key, at) -%}
    {{ versions }}.{{ key }} = {{ fact_key }}
        and ({{ versions }}.valid_from <= {{ at }} or {{ versions }}.version_number = 1)
        and ({{ versions }}.valid_to is null or {{ at }} < {{ versions }}.valid_to)
{%- endmacro %}
