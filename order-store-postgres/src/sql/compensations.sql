-- The whole compensation log, oldest first (an operator's list, not a hot
-- path).
select order_id, step, amount, currency, detail, at from compensations order by id
