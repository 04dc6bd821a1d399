{#- Generic test on an SCD type 2 model: per natural key, versions neither overlap nor
    leave gaps, and exactly the last one is current. -#}
{% test scd2_versions_chain(model, key_column) %}

with versions as (
    select
        {{ key_column }} as natural_key,
        valid_from,
        valid_to,
        is_current,
        lead(valid_from) over (partition by {{ key_column }} order by valid_from, version_number)
            as next_valid_from
    from {{ model }}
)

select *
from versions
where valid_to is distinct from next_valid_from
    or is_current <> (valid_to is null)

{% endtest %}
