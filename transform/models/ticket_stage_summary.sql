-- Per pipeline, stage and window (the last 30 and the last 90 days before as_of): how many
-- visits and tickets entered the stage, and how long visits that left the stage in the window
-- spent there (median and 90th percentile, in seconds and in hours). Visits still in the
-- stage, and the last visits of archived tickets, have no time in stage yet and are not part
-- of the percentiles.
with windows as (
    select 30 as window_days
    union all
    select 90 as window_days
),

bounds as (
    select
        window_days,
        {{ dbt.dateadd('day', '-window_days', as_of()) }} as window_start
    from windows
),

stages as (
    select pipeline_id, pipeline_label, stage_id, stage_label, display_order, is_closed
    from {{ ref('stg_ticket_pipeline_stages') }}
),

periods as (
    select * from {{ ref('ticket_stage_periods') }}
),

entered as (
    select
        bounds.window_days,
        periods.pipeline_id,
        periods.stage_id,
        count(*) as visits_entered,
        count(distinct periods.ticket_id) as tickets_entered
    from periods
    inner join bounds
        on periods.entered_at > bounds.window_start
    group by bounds.window_days, periods.pipeline_id, periods.stage_id
),

exited as (
    select
        bounds.window_days,
        periods.pipeline_id,
        periods.stage_id,
        count(*) as visits_exited,
        {{ percentile('periods.seconds_in_stage', 0.5) }} as median_seconds_in_stage,
        {{ percentile('periods.seconds_in_stage', 0.9) }} as p90_seconds_in_stage
    from periods
    inner join bounds
        on periods.exited_at > bounds.window_start
    group by bounds.window_days, periods.pipeline_id, periods.stage_id
)

select
    stages.pipeline_id,
    stages.pipeline_label,
    stages.stage_id,
    stages.stage_label,
    stages.display_order,
    stages.is_closed as stage_is_closed,
    bounds.window_days,
    coalesce(entered.visits_entered, 0) as visits_entered,
    coalesce(entered.tickets_entered, 0) as tickets_entered,
    coalesce(exited.visits_exited, 0) as visits_exited,
    exited.median_seconds_in_stage,
    exited.p90_seconds_in_stage,
    exited.median_seconds_in_stage / 3600.0 as median_hours_in_stage,
    exited.p90_seconds_in_stage / 3600.0 as p90_hours_in_stage
from stages
cross join bounds
left join entered
    on entered.window_days = bounds.window_days
    and entered.pipeline_id = stages.pipeline_id
    and entered.stage_id = stages.stage_id
left join exited
    on exited.window_days = bounds.window_days
    and exited.pipeline_id = stages.pipeline_id
    and exited.stage_id = stages.stage_id
