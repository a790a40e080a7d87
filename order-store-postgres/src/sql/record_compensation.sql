-- Appends to the compensation log.
insert into compensations (compensation_id, order_id, step, amount, currency, detail, at)
values ($1::uuid, $2::uuid, $3::text, $4::numeric, $5::text, $6::text, $7::timestamptz)
