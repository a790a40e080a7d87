-- The whole compensation log, oldest first (an operator's list, not a hot
-- path).
select compensation_id, order_id, step, amount, currency, detail, at,
       resolved_by, resolved_at, resolution_note
  from compensations
 order by id
