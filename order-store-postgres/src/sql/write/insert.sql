
-- A new order (expected version 0), whole: every row is new, so every row is
-- inserted, without looking for a stored one.
--
-- The gate is `ord`, the order row. It is not inserted when the idempotency
-- key the change completes is no longer ours; then every other part, which
-- joins `ord`, writes nothing and the statement answers 0. An order that
-- exists already fails the insert on its key (`orders_pkey`,
-- `orders_number_key`), which `error.rs` reports as `AlreadyExists`.
ord as (
    insert into orders (id, number, customer_id, currency, status, payment_status, subtotal,
                        discount, tax, shipping, total, shipping_address, billing_address,
                        shipping_method, coupon_code, discount_rule, notes, pricing, reservation,
                        payment_attempts, cancellation_reason, cancelled_by, version, created_at,
                        updated_at, confirmed_at, cancelled_at, delivered_at, completed_at,
                        payment_method, captured, refunded, failed_payment_attempts)
    select id, number, customer_id, currency, status, payment_status, subtotal,
           discount, tax, shipping, total, shipping_address, billing_address,
           shipping_method, coupon_code, discount_rule, notes, pricing, reservation,
           payment_attempts, cancellation_reason, cancelled_by, version, created_at,
           updated_at, confirmed_at, cancelled_at, delivered_at, completed_at,
           payment_method, captured, refunded, failed_payment_attempts
      from input
       -- The key must still be ours: claimed, not completed by a request that
       -- took it over after our lease ran out.
     where input.idempotency_key is null
        or exists (select from idempotency_keys k
                    where k.key = input.idempotency_key and k.state = 'in_flight')
    returning id
),
lines_added as (
    insert into order_lines (id, order_id, position, product_id, variant_id, sku, name, kind,
                             tax_class, tax_rate, quantity, unit_price, subtotal, discount, tax,
                             total, qty_ordered, qty_cancelled, qty_shipped, qty_delivered,
                             qty_returned, qty_return_requested)
    select l.id, ord.id, (l.n - 1)::integer, l.product_id, l.variant_id, l.sku, l.name, l.kind,
           l.tax_class, l.tax_rate, l.quantity, l.unit_price, l.subtotal, l.discount, l.tax,
           l.total, l.qty_ordered, l.qty_cancelled, l.qty_shipped, l.qty_delivered,
           l.qty_returned, l.qty_return_requested
      from ord, input,
           unnest(input.line_id, input.line_product_id, input.line_variant_id, input.line_sku,
                  input.line_name, input.line_kind, input.line_tax_class, input.line_tax_rate,
                  input.line_quantity, input.line_unit_price, input.line_subtotal,
                  input.line_discount, input.line_tax, input.line_total, input.line_ordered,
                  input.line_cancelled, input.line_shipped, input.line_delivered,
                  input.line_returned, input.line_return_requested)
           with ordinality
           as l(id, product_id, variant_id, sku, name, kind, tax_class, tax_rate, quantity,
                unit_price, subtotal, discount, tax, total, qty_ordered, qty_cancelled,
                qty_shipped, qty_delivered, qty_returned, qty_return_requested, n)
),
