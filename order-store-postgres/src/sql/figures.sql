-- The orders created in [$1, $2), summed per status, currency and whether
-- they are paid (captured anything): `OrderFigures::figures`, each sum as
-- order-core's `FigureGroup` defines it (`store.rs` adds the paid and unpaid
-- rows of a status and currency into one group). `captured`, `refunded`
-- and `failed_payment_attempts` are the order row's own (written with the
-- order from its ledger, migration 0012), so no child table is read.
-- `delivered_at - confirmed_at` is an interval of days and microseconds
-- (no months), summed exactly; counted where both are set.
-- An index-only scan of orders_created_idx, which carries every column read
-- here (migration 0012).
select o.status,
       o.currency,
       o.captured <> 0 as paid,
       count(*) as orders,
       sum(o.total) as total,
       sum(o.captured) as captured,
       sum(o.refunded) as refunded,
       sum(o.payment_attempts) as payment_attempts,
       sum(o.failed_payment_attempts) as failed_payment_attempts,
       count(o.delivered_at - o.confirmed_at) as fulfilled,
       sum(o.delivered_at - o.confirmed_at) as fulfilment_time
  from orders o
 where o.created_at >= $1::timestamptz
   and o.created_at < $2::timestamptz
 group by o.status, o.currency, o.captured <> 0
