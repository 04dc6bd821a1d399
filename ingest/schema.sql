-- The raw schema written by the ingest: one row per record as received, never de-duplicated.
create schema if not exists raw;

create table if not exists raw.agent_events (
    event_id varchar not null,
    event_type varchar not null,
    event_timestamp timestamptz not null,
    version varchar,
    aws_account_id varchar,
    agent_arn varchar not null,
    agent_id varchar,
    instance_arn varchar,
    has_previous_snapshot boolean not null,
    current_status_arn varchar,
    current_status_name varchar,
    current_status_type varchar,
    current_status_started_at timestamptz,
    current_next_status_arn varchar,
    current_next_status_name varchar,
    current_next_status_enqueued_at timestamptz,
    current_username varchar,
    current_first_name varchar,
    current_last_name varchar,
    current_hierarchy_level1_arn varchar,
    current_hierarchy_level1_name varchar,
    current_hierarchy_level2_arn varchar,
    current_hierarchy_level2_name varchar,
    current_hierarchy_level3_arn varchar,
    current_hierarchy_level3_name varchar,
    current_hierarchy_level4_arn varchar,
    current_hierarchy_level4_name varchar,
    current_hierarchy_level5_arn varchar,
    current_hierarchy_level5_name varchar,
    current_routing_profile_arn varchar,
    current_routing_profile_name varchar,
    current_contact_count integer,
    previous_status_arn varchar,
    previous_status_name varchar,
    previous_status_type varchar,
    previous_status_started_at timestamptz,
    previous_next_status_arn varchar,
    previous_next_status_name varchar,
    previous_next_status_enqueued_at timestamptz,
    previous_username varchar,
    previous_first_name varchar,
    previous_last_name varchar,
    previous_hierarchy_level1_arn varchar,
    previous_hierarchy_level1_name varchar,
    previous_hierarchy_level2_arn varchar,
    previous_hierarchy_level2_name varchar,
    previous_hierarchy_level3_arn varchar,
    previous_hierarchy_level3_name varchar,
    previous_hierarchy_level4_arn varchar,
    previous_hierarchy_level4_name varchar,
    previous_hierarchy_level5_arn varchar,
    previous_hierarchy_level5_name varchar,
    previous_routing_profile_arn varchar,
    previous_routing_profile_name varchar,
    previous_contact_count integer,
    current_routing_profile_configuration_key varchar,
    previous_routing_profile_configuration_key varchar,
    source_object varchar not null,
    byte_offset bigint not null,
    ingested_at timestamptz not null,
    record json using compression zstd not null,
    recovered_from_error_output boolean not null default false
);

create table if not exists raw.agent_event_contacts (
    event_id varchar not null,
    snapshot varchar not null,
    contact_position integer not null,
    contact_id varchar,
    initial_contact_id varchar,
    channel varchar,
    initiation_method varchar,
    state varchar,
    state_started_at timestamptz,
    connected_to_agent_at timestamptz,
    queued_at timestamptz,
    queue_arn varchar,
    queue_name varchar,
    source_object varchar not null,
    byte_offset bigint not null
);

-- Routing-profile configurations, stored once each: the key is the MD5 of the configuration's
-- canonical JSON (ingest/flattening.py, configuration_key); events reference it.
create table if not exists raw.routing_profile_configurations (
    routing_profile_configuration_key varchar primary key,
    routing_profile_arn varchar,
    routing_profile_name varchar,
    first_source_object varchar not null,
    first_byte_offset bigint not null,
    first_ingested_at timestamptz not null
);

create table if not exists raw.agent_event_concurrency (
    routing_profile_configuration_key varchar not null,
    channel varchar,
    available_slots integer,
    maximum_slots integer
);

create table if not exists raw.agent_event_queues (
    routing_profile_configuration_key varchar not null,
    queue_arn varchar,
    queue_name varchar,
    channels varchar[],
    is_default_outbound boolean not null
);

create table if not exists raw.ingested_objects (
    source_object varchar primary key,
    size_bytes bigint not null,
    etag varchar,
    md5 varchar not null,
    records integer not null,
    rejected integer not null,
    ingested_at timestamptz not null
);

create table if not exists raw.rejected_records (
    source_object varchar not null,
    byte_offset bigint,
    error varchar not null,
    payload blob,
    rejected_at timestamptz not null
);

create table if not exists raw.runs (
    run_id varchar primary key,
    command varchar not null,
    source varchar,
    started_at timestamptz not null,
    ended_at timestamptz not null,
    objects_new integer,
    objects_skipped integer,
    objects_rejected integer,
    objects_unfetched integer,
    objects_changed integer,
    records_loaded bigint,
    records_rejected integer,
    records_recovered integer,
    new_fields varchar[],
    warnings varchar[],
    dbt_status integer,
    models_not_built varchar[],
    tests_failed varchar[],
    published boolean not null,
    exit_status integer not null
);

-- Columns added after the first release: warehouses built before them get them here.
alter table raw.runs add column if not exists timestamps_unreadable integer;
alter table raw.runs add column if not exists error varchar;
-- The dbt project (files, settings, versions) a build used, and the state of the raw tables it
-- built from: a run that finds both unchanged since the last successful build skips dbt.
alter table raw.runs add column if not exists dbt_fingerprint varchar;
alter table raw.runs add column if not exists raw_state varchar;
alter table raw.agent_events add column if not exists current_routing_profile_configuration_key varchar;
alter table raw.agent_events add column if not exists previous_routing_profile_configuration_key varchar;
