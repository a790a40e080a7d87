-- One page of the orders in status $1, newest first, optionally in one payment
-- status ($2), after the cursor $5/$6 (none: from the start), created in
-- [$3, $4) (open ends when null). Walks orders_status_created_idx.
 where o.status = $1::text
   and ($2::text is null or o.payment_status = $2::text)
   and o.created_at >= coalesce($3::timestamptz, '-infinity')
   and o.created_at < coalesce($4::timestamptz, 'infinity')
   and (o.created_at, o.id) < (coalesce($5::timestamptz, 'infinity'), coalesce($6::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
 order by o.created_at desc, o.id desc
 limit $7::bigint
