{#- The pre-hook of ticket_daily_history: on an incremental run, delete the days the run
    rebuilds (the last daily_history_lookback_days it holds), so late changes and archivals
    replace what those days said. The model then inserts every day after the newest one left. -#}
{% macro daily_history_rebuild_window() -%}
  {%- if is_incremental() -%}
    delete from {{ this }}
    where date_day > (
        select {{ dbt.dateadd('day', -var('daily_history_lookback_days'), 'max(date_day)') }}
        from {{ this }}
    )
  {%- endif -%}
{%- endmacro %}
