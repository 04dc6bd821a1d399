-- SCD type 2 of agents on username, names, hierarchy groups and routing profile, built
-- from event times: a new version starts at the first event showing a change.

with

observations as (
    select * from {{ ref('int_agent_configuration_observations') }}
),

compared_with_previous as (
    select
        *,
        lag(attributes_hash) over (
            partition by agent_arn order by observed_at, event_id
        ) as previous_attributes_hash
    from observations
),

version_starts as (
    select *
    from compared_with_previous
    where previous_attributes_hash is null or previous_attributes_hash <> attributes_hash
),

versions as (
    select
        *,
        row_number() over agent_history as version_number,
        lead(observed_at) over agent_history as next_version_from
    from version_starts
    window agent_history as (partition by agent_arn order by observed_at, event_id)
),

final as (
    select
        md5(agent_arn || '|' || epoch_us(observed_at)::varchar || '|' || attributes_hash)
            as agent_key,
        agent_arn,
        regexp_extract(agent_arn, '/agent/([^/]+)$', 1) as agent_id,
        version_number,
        username,
        first_name,
        last_name,
        hierarchy_level1_arn,
        hierarchy_level1_name,
        hierarchy_level2_arn,
        hierarchy_level2_name,
        hierarchy_level3_arn,
        hierarchy_level3_name,
        hierarchy_level4_arn,
        hierarchy_level4_name,
        hierarchy_level5_arn,
        hierarchy_level5_name,
        routing_profile_arn,
        observed_at as valid_from,
        next_version_from as valid_to,
        next_version_from is null as is_current
    from versions
)

select * from final
