-- SCD type 2 of agents on username, names, hierarchy groups and routing profile, built
-- from event times: a new version starts at the first event showing a change.

with

observations as (
    select * from {{ ref('int_agent_configuration_observations') }}
),

versions as (
    {{ scd2_versions('observations', 'agent_arn') }}
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
