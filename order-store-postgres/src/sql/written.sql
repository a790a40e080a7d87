
-- The end of every write: every part before this one is a CTE followed by a
-- comma, and this is the last. The statement answers how many orders it
-- wrote: 1, or 0 when its gate (`ord`) failed and so nothing was written.
written as (
    select count(*) as written from ord
)
select written from written
