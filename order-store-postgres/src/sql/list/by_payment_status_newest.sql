-- One page of the orders in payment status $1, newest first, after the cursor
-- $4/$5 (none: from the start), created in [$2, $3) (open ends when null).
-- Walks orders_payment_status_created_idx (migration 0012).
 where o.payment_status = $1::text
   and o.created_at >= coalesce($2::timestamptz, '-infinity')
   and o.created_at < coalesce($3::timestamptz, 'infinity')
   and (o.created_at, o.id) < (coalesce($4::timestamptz, 'infinity'), coalesce($5::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
 order by o.created_at desc, o.id desc
 limit $6::bigint
