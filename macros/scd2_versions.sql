{#- SCD type 2 versions of an entity from its observations (a relation with entity_key,
    observed_at, event_id and attributes_hash): one row per observation whose
    attributes_hash differs from the entity's previous observation, with every column of
    the observations plus
      version_key     the version's surrogate key (entity key, valid_from, attributes hash),
      version_number  1, 2, 3... per entity,
      valid_from      the observation's time,
      valid_to        the next version's valid_from (NULL for the current one),
      is_current      whether it is the latest version. -#}
{% macro scd2_versions(observations, entity_key, version_key) %}
    select
        {{ surrogate_key([entity_key, 'epoch_us(observed_at)', 'attributes_hash']) }}
            as {{ version_key }},
        *,
        observed_at as valid_from,
        next_version_from as valid_to,
        next_version_from is null as is_current
    from (
        select
            *,
            row_number() over entity_history as version_number,
            lead(observed_at) over entity_history as next_version_from
        from (
            select
                *,
                lag(attributes_hash) over (
                    partition by {{ entity_key }} order by observed_at, event_id
                ) as previous_attributes_hash
            from {{ observations }}
        )
        where previous_attributes_hash is distinct from attributes_hash
        window entity_history as (partition by {{ entity_key }} order by observed_at, event_id)
    )
{% endmacro %}
