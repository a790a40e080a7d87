-- One page of a customer's orders, oldest first, after the cursor $6/$7 (none:
-- from the start), optionally in one status ($2) and one payment status
-- ($3), created in [$4, $5) (open ends when null). Walks
-- orders_customer_created_idx.
 where o.customer_id = $1::uuid
   and ($2::text is null or o.status = $2::text)
   and ($3::text is null or o.payment_status = $3::text)
   and o.created_at >= coalesce($4::timestamptz, '-infinity')
   and o.created_at < coalesce($5::timestamptz, 'infinity')
   and (o.created_at, o.id) > (coalesce($6::timestamptz, '-infinity'), coalesce($7::uuid, '00000000-0000-0000-0000-000000000000'))
 order by o.created_at asc, o.id asc
 limit $8::bigint
