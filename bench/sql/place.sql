-- pgbench script: one order placement, one transaction of six statements
-- (begin, the order, its 3 lines, its history row, its outbox event,
-- commit), as a hand-written sqlx handler would send them. Run with
-- -M prepared (variables become typed parameters) and
-- -D customers=… -D products=… (order-bench does).
\set customer random(1, :customers)
\set p1 random(1, :products)
\set p2 random(1, :products)
\set p3 random(1, :products)
\set q1 random(1, 5)
\set q2 random(1, 5)
\set q3 random(1, 5)
\set c1 random(199, 99999)
\set c2 random(199, 99999)
\set c3 random(199, 99999)
\set l1 :q1 * :c1
\set l2 :q2 * :c2
\set l3 :q3 * :c3
\set goods :l1 + :l2 + :l3
\set tax :goods / 10
\set shipping 599
\set total :goods + :tax + :shipping
begin;
insert into orders (id, customer_id, status, currency, subtotal, tax, shipping, total,
                    shipping_address, idempotency_key)
values (gen_random_uuid(), md5('customer' || :customer::int)::uuid, 'pending', 'USD',
        :goods::numeric / 100, :tax::numeric / 100, :shipping::numeric / 100, :total::numeric / 100,
        '{"name": "Jane Doe", "line1": "742 Evergreen Terrace", "line2": null, "city": "Springfield",
          "region": "OR", "postal_code": "97475", "country": "US", "phone": "+1-555-0100"}'::jsonb,
        gen_random_uuid()::text)
returning id as order_id \gset
insert into order_lines (id, order_id, product_id, sku, quantity, unit_price, total)
values (gen_random_uuid(), :order_id::uuid, md5('product' || :p1::int)::uuid, 'BENCH-' || :p1::int,
        :q1::int, :c1::numeric / 100, :l1::numeric / 100),
       (gen_random_uuid(), :order_id::uuid, md5('product' || :p2::int)::uuid, 'BENCH-' || :p2::int,
        :q2::int, :c2::numeric / 100, :l2::numeric / 100),
       (gen_random_uuid(), :order_id::uuid, md5('product' || :p3::int)::uuid, 'BENCH-' || :p3::int,
        :q3::int, :c3::numeric / 100, :l3::numeric / 100);
insert into order_history (order_id, from_status, to_status, reason)
values (:order_id::uuid, null, 'pending', 'order placed');
insert into outbox (id, order_id, event_type, payload)
values (gen_random_uuid(), :order_id::uuid, 'order.placed',
        jsonb_build_object(
            'order_id', :order_id::uuid, 'customer_id', md5('customer' || :customer::int)::uuid,
            'status', 'pending', 'currency', 'USD', 'total', (:total::numeric / 100)::numeric(19,2)::text,
            'lines', jsonb_build_array(
                jsonb_build_object('sku', 'BENCH-' || :p1::int, 'quantity', :q1::int,
                                   'unit_price', (:c1::numeric / 100)::numeric(19,2)::text),
                jsonb_build_object('sku', 'BENCH-' || :p2::int, 'quantity', :q2::int,
                                   'unit_price', (:c2::numeric / 100)::numeric(19,2)::text),
                jsonb_build_object('sku', 'BENCH-' || :p3::int, 'quantity', :q3::int,
                                   'unit_price', (:c3::numeric / 100)::numeric(19,2)::text))));
commit;
