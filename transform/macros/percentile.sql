{#- A continuous percentile as an aggregate: percentile(expression, 0.9) interpolates like
    PostgreSQL's percentile_cont, on every warehouse. dbt-core has no macro for it. -#}

{% macro percentile(expression, fraction) -%}
  {{ return(adapter.dispatch('percentile', 'hubspot_tickets')(expression, fraction)) }}
{%- endmacro %}

{#- PostgreSQL and Snowflake: the ordered-set aggregate of the SQL standard. -#}
{% macro default__percentile(expression, fraction) -%}
  percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__percentile(expression, fraction) -%}
  quantile_cont({{ expression }}, {{ fraction }})
{%- endmacro %}
