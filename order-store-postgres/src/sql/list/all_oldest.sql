-- One page of all orders, oldest first, after the cursor $3/$4 (none: from the
-- start), created in [$1, $2) (open ends when null). Walks
-- orders_created_idx.
 where o.created_at >= coalesce($1::timestamptz, '-infinity')
   and o.created_at < coalesce($2::timestamptz, 'infinity')
   and (o.created_at, o.id) > (coalesce($3::timestamptz, '-infinity'), coalesce($4::uuid, '00000000-0000-0000-0000-000000000000'))
 order by o.created_at asc, o.id asc
 limit $5::bigint
