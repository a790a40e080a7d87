-- A delivery's attempts, oldest first.
select delivery_id, number, at, status, error, took_ms
  from webhook_attempts
 where delivery_id = $1::uuid
 order by number
