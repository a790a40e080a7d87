-- A delivery's changing columns.
update webhook_deliveries
   set state = $2::text, attempts = $3::integer, next_attempt_at = $4::timestamptz,
       give_up_at = $5::timestamptz, last_status = $6::integer, last_error = $7::text
 where id = $1::uuid
