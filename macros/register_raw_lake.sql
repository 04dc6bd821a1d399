{#- on-run-start: make the raw tables of the Parquet lake (var raw_lake, default the RAW_LAKE
    environment variable) the `raw` schema the sources read. The lake holds one folder per
    raw table (ingest/schema.sql's names and columns); agent_events and agent_event_contacts
    are Hive-partitioned by event_date=YYYY-MM-DD/. On DuckDB the raw tables are the
    warehouse's own, so this does nothing. -#}
{% macro register_raw_lake() -%}
    {{ return(adapter.dispatch('register_raw_lake', 'connect_agent_warehouse')()) }}
{%- endmacro %}

{% macro default__register_raw_lake() -%}
    select 1 as nothing_to_register
{%- endmacro %}

{% macro spark__register_raw_lake() -%}
    {%- set lake = var('raw_lake', env_var('RAW_LAKE', '')) | trim -%}
    {%- if not lake -%}
        {{ exceptions.raise_compiler_error(
            "register_raw_lake: on Spark the raw tables come from a Parquet lake: "
            ~ "set RAW_LAKE (or the dbt var raw_lake) to its folder") }}
    {%- endif -%}
    {%- set lake = lake.rstrip('/') -%}
    {%- set tables = [
        'agent_events', 'agent_event_contacts', 'routing_profile_configurations',
        'agent_event_concurrency', 'agent_event_queues', 'ingested_objects', 'rejected_records'
    ] -%}
    {#- the ingest's lake: a batch's files count once its manifest file
        (ingested_objects/<batch>.parquet) exists; the manifest holds a row per object each
        time it is recorded, and the latest batch's is the object's row (ingest/lake.py) -#}
    {%- set batch = "regexp_extract(_metadata.file_name, '^(.+)[.]parquet$', 1)" -%}
    {%- set manifest = 'parquet.`' ~ lake ~ '/ingested_objects`' -%}
    {%- if execute -%}
        {%- do run_query('create schema if not exists raw') -%}
        {%- for table in tables if table != 'ingested_objects' -%}
            {%- do run_query(
                'create or replace view raw.' ~ table
                ~ ' as select * from parquet.`' ~ lake ~ '/' ~ table ~ '`'
                ~ ' where ' ~ batch ~ ' in (select ' ~ batch ~ ' from ' ~ manifest ~ ')'
            ) -%}
        {%- endfor -%}
        {%- do run_query(
            'create or replace view raw.ingested_objects as select source_object, size_bytes,'
            ~ ' etag, md5, records, rejected, ingested_at from (select *, row_number() over'
            ~ ' (partition by source_object order by ' ~ batch ~ ' desc) as batch_rank'
            ~ ' from ' ~ manifest ~ ') where batch_rank = 1'
        ) -%}
    {%- endif -%}
    select 1 as lake_registered
{%- endmacro %}
