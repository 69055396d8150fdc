{#- Time helpers shared by the models: one "now" per run, UTC timestamps on every warehouse. -#}

{% macro as_of() -%}
  {#- The instant the models treat as now: the as_of var, else TICKETS_AS_OF, else the start of
      this dbt run (the same instant in every model of the run). Always a UTC timestamp
      without time zone, like every timestamp the staging models return. -#}
  {%- set pinned = var('as_of', '') or env_var('TICKETS_AS_OF', '') -%}
  {%- if not pinned -%}
    {%- set pinned = run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') -%}
  {%- endif -%}
  cast('{{ pinned }}' as {{ utc_timestamp_type() }})
{%- endmacro %}


{% macro utc_timestamp_type() -%}
  {{ return(adapter.dispatch('utc_timestamp_type', 'hubspot_tickets')()) }}
{%- endmacro %}

{#- A timestamp without time zone: the type every model's timestamps have. -#}
{% macro default__utc_timestamp_type() -%}
  {{ dbt.type_timestamp() }}
{%- endmacro %}

{#- Spelled out: an account's TIMESTAMP_TYPE_MAPPING may make plain TIMESTAMP mean TZ or LTZ. -#}
{% macro snowflake__utc_timestamp_type() -%}
  timestamp_ntz
{%- endmacro %}


{% macro to_utc(column) -%}
  {{ return(adapter.dispatch('to_utc', 'hubspot_tickets')(column)) }}
{%- endmacro %}

{#- target-duckdb and target-postgres (run with PGTZ=UTC) land UTC timestamps without a zone. -#}
{% macro default__to_utc(column) -%}
  cast({{ column }} as {{ utc_timestamp_type() }})
{%- endmacro %}

{#- target-snowflake lands TIMESTAMP_TZ (meltano.yml sets timestamp_type): bring it to UTC. -#}
{% macro snowflake__to_utc(column) -%}
  cast(convert_timezone('UTC', {{ column }}) as {{ utc_timestamp_type() }})
{%- endmacro %}


{% macro to_day(timestamp) -%}
  {#- The calendar day (UTC) of a UTC timestamp. -#}
  cast({{ timestamp }} as date)
{%- endmacro %}
