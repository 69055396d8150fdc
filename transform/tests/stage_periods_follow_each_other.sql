-- A ticket's visits never overlap: each one starts at or after the previous one's exit, and
-- only the last one has no exit.
with ordered as (
    select
        ticket_id,
        entered_at,
        exited_at,
        lead(entered_at) over (partition by ticket_id order by entered_at) as next_entered_at
    from {{ ref('ticket_stage_periods') }}
)

select *
from ordered
where (next_entered_at is not null and (exited_at is null or exited_at > next_entered_at))
   or (next_entered_at is null and exited_at is not null and exited_at <= entered_at)
