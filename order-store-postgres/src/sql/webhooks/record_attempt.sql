-- One attempt at a delivery.
insert into webhook_attempts (delivery_id, number, at, status, error, took_ms)
values ($1::uuid, $2::integer, $3::timestamptz, $4::integer, $5::text, $6::bigint)
