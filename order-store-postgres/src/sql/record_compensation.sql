-- Appends to the compensation log.
insert into compensations (order_id, step, amount, currency, detail, at)
values ($1::uuid, $2::text, $3::numeric, $4::text, $5::text, $6::timestamptz)
