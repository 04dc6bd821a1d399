{% macro scd2_versions(observations, entity_key) %}
    {#- One row per version of each entity: the observations whose attributes_hash differs
        from the entity's previous observation, numbered, with the next version's start. -#}
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
{% endmacro %}
