-- One row per distinct routing-profile configuration, as the ingest stores it: events
-- reference it by its content-addressed key (the MD5 of its canonical JSON).

with

configurations as (
    select * from {{ source('connect', 'routing_profile_configurations') }}
),

final as (
    select
        routing_profile_configuration_key,
        routing_profile_arn,
        routing_profile_name,
        first_ingested_at
    from configurations
)

select * from final
