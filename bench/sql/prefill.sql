-- Fills the ceiling's tables to a realistic size before it is measured
-- (from empty tables the cached foreign-key plans scan `orders`
-- sequentially and throughput decays during the run). order-bench sets
-- bench.orders, bench.customers and bench.products first.
insert into orders (id, customer_id, status, currency, subtotal, tax, shipping, total,
                    shipping_address, idempotency_key, created_at, updated_at)
select gen_random_uuid(),
       md5('customer' || (n % current_setting('bench.customers')::int))::uuid,
       (array['pending', 'paid'])[1 + n % 2], 'USD', 90.00, 9.00, 5.99, 104.99,
       '{"name": "Jane Doe", "line1": "742 Evergreen Terrace", "city": "Springfield",
         "region": "OR", "postal_code": "97475", "country": "US"}'::jsonb,
       gen_random_uuid()::text, now() - n * interval '1 minute', now() - n * interval '1 minute'
from generate_series(1, current_setting('bench.orders')::int) as n;

insert into order_lines (id, order_id, product_id, sku, quantity, unit_price, total)
select gen_random_uuid(), o.id, md5('product' || p)::uuid, 'BENCH-' || p, 1, 30.00, 30.00
from orders o,
     lateral (select 1 + (abs(hashtext(o.id::text || k)) % current_setting('bench.products')::int) as p
              from generate_series(1, 3) as k) as picked;

insert into order_history (order_id, from_status, to_status, reason)
select id, null, 'pending', 'order placed' from orders;

insert into outbox (id, order_id, event_type, payload, published_at)
select gen_random_uuid(), id, 'order.placed',
       jsonb_build_object('order_id', id, 'customer_id', customer_id, 'total', total::text), now()
from orders;
