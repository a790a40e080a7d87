-- Reports sum the orders of a period in one statement over the order rows
-- (`sql/figures.sql`, ADR 0015), so each row carries what it adds from its
-- payment ledger: Σ captures, Σ refunds, and its failed payment attempts as
-- order-core defines them (`report::failed_payment_attempts`). The write
-- of an order sets them from the aggregate, in the one place it writes the
-- row; here they are backfilled from the ledger for the orders stored
-- before. Constant defaults: adding the columns rewrites no row.
--
-- The index a period is read by carries every column the sums read, so a
-- report is an index-only scan: 10⁵ orders are 8 MB of index instead of
-- 50 MB of order rows (ADR 0015).
alter table orders
    add column captured                numeric(24, 4) not null default 0 check (captured >= 0),
    add column refunded                numeric(24, 4) not null default 0 check (refunded >= 0),
    add column failed_payment_attempts integer not null default 0
        check (failed_payment_attempts >= 0);

update orders o
   set captured = p.captured,
       refunded = p.refunded
  from (select order_id,
               coalesce(sum(amount) filter (where kind = 'capture'), 0) as captured,
               coalesce(sum(amount) filter (where kind = 'refund'), 0) as refunded
          from payment_entries
         group by order_id) p
 where p.order_id = o.id;

-- Attempts, less one that authorized or captured money, less one in flight.
update orders o
   set failed_payment_attempts = greatest(
           o.payment_attempts
           - (exists (select from payment_entries e
                       where e.order_id = o.id and e.kind in ('authorize', 'capture')))::int
           - (o.payment_status = 'pending')::int,
           0)
 where o.payment_attempts > 0;

create index orders_created_covering_idx on orders (created_at, id)
    include (status, currency, total, captured, refunded, payment_attempts,
             failed_payment_attempts, confirmed_at, delivered_at);
drop index orders_created_idx;
alter index orders_created_covering_idx rename to orders_created_idx;

-- Keyset listing of one payment status, as the other filters have.
create index orders_payment_status_created_idx on orders (payment_status, created_at, id);
