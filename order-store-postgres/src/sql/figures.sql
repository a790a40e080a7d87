-- The orders created in [$1, $2), summed per status and currency: what
-- `OrderFigures::figures` answers, each sum as order-core's `FigureGroup`
-- defines it. An order is paid when it captured anything; `captured`,
-- `refunded` and `failed_payment_attempts` are the order row's own (written
-- with the order from its ledger, migration 0012), so no child table is read.
-- Walks orders_created_idx.
select o.status,
       o.currency,
       count(*) as orders,
       count(*) filter (where o.captured <> 0) as paid_orders,
       coalesce(sum(o.total) filter (where o.captured <> 0), 0) as paid_total,
       coalesce(sum(o.captured), 0) as captured,
       coalesce(sum(o.refunded) filter (where o.captured <> 0), 0) as refunded,
       sum(o.payment_attempts) as payment_attempts,
       sum(o.failed_payment_attempts) as failed_payment_attempts,
       count(o.delivered_at - o.confirmed_at) as fulfilled,
       -- In microseconds, PostgreSQL's precision: exact numeric seconds.
       coalesce(sum((extract(epoch from o.delivered_at) - extract(epoch from o.confirmed_at))
                    * 1000000), 0) as fulfilment_micros
  from orders o
 where o.created_at >= $1::timestamptz
   and o.created_at < $2::timestamptz
 group by o.status, o.currency
