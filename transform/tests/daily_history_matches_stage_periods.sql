-- Every day's stage is the stage of the visit the ticket was in at the end of that day.
with day_ends as (
    select
        ticket_id,
        date_day,
        stage_id,
        {{ dbt.dateadd('day', 1, 'date_day') }} as next_midnight
    from {{ ref('ticket_daily_history') }}
),

covering as (
    select
        day_ends.ticket_id,
        day_ends.date_day,
        day_ends.stage_id,
        periods.stage_id as period_stage_id,
        row_number() over (
            partition by day_ends.ticket_id, day_ends.date_day
            order by periods.entered_at desc
        ) as latest_first
    from day_ends
    left join {{ ref('ticket_stage_periods') }} as periods
        on periods.ticket_id = day_ends.ticket_id
        and periods.entered_at < day_ends.next_midnight
        and coalesce(periods.exited_at, cast('9999-12-31' as {{ utc_timestamp_type() }})) >= day_ends.next_midnight
)

select *
from covering
where latest_first = 1
  and stage_id is distinct from period_stage_id
