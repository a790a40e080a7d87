-- An order with everything it owns, as typed columns: the `orders` row, then
-- each child table as one array per column, in the order the aggregate keeps
-- them (by position; history by sequence). Nothing is built as JSON: the
-- arrays travel in PostgreSQL's binary format and `read.rs` decodes them.
-- An order without children of a kind gets NULL arrays.
--
-- Each child table is one lateral subquery: its rows of this order, by
-- index, in order, then aggregated. Every `array_agg` takes its rows in the
-- order of the sorted subquery below it (nothing at that level, no join,
-- could reorder them); `array_agg(… order by position)` would say so in each
-- aggregate, but sorts once per aggregate, and measured slower (ADR 0007).
--
-- The statements that read orders append a `where … order by … limit`
-- (`order_by_id.sql`, `order_by_number.sql`, `list/*.sql`).
select o.id, o.number, o.customer_id, o.currency, o.status, o.payment_status, o.subtotal,
       o.discount, o.tax, o.shipping, o.total, o.shipping_address, o.billing_address,
       o.shipping_method, o.coupon_code, o.discount_rule, o.notes, o.pricing, o.reservation,
       o.payment_attempts, o.cancellation_reason, o.cancelled_by, o.version, o.created_at,
       o.updated_at, o.confirmed_at, o.cancelled_at, o.delivered_at, o.completed_at,
       o.payment_method, lines.*, payments.*, shipments.*, shipment_lines.*, returns.*, return_lines.*,
       history.*
  from orders o
 cross join lateral (
       select array_agg(l.id) as line_id, array_agg(l.product_id) as line_product_id,
              array_agg(l.variant_id) as line_variant_id, array_agg(l.sku) as line_sku,
              array_agg(l.name) as line_name, array_agg(l.kind) as line_kind,
              array_agg(l.tax_class) as line_tax_class, array_agg(l.tax_rate) as line_tax_rate,
              array_agg(l.quantity) as line_quantity, array_agg(l.unit_price) as line_unit_price,
              array_agg(l.subtotal) as line_subtotal, array_agg(l.discount) as line_discount,
              array_agg(l.tax) as line_tax, array_agg(l.total) as line_total,
              array_agg(l.qty_ordered) as line_ordered,
              array_agg(l.qty_cancelled) as line_cancelled,
              array_agg(l.qty_shipped) as line_shipped,
              array_agg(l.qty_delivered) as line_delivered,
              array_agg(l.qty_returned) as line_returned,
              array_agg(l.qty_return_requested) as line_return_requested
         from (select * from order_lines where order_id = o.id order by position) l
       ) lines
 cross join lateral (
       select array_agg(p.id) as payment_id, array_agg(p.kind) as payment_kind,
              array_agg(p.amount) as payment_amount, array_agg(p.reference) as payment_reference,
              array_agg(p.idempotency_key) as payment_idempotency_key,
              array_agg(p.reason) as payment_reason, array_agg(p.return_id) as payment_return_id,
              array_agg(p.at) as payment_at
         from (select * from payment_entries where order_id = o.id order by position) p
       ) payments
 cross join lateral (
       select array_agg(s.id) as shipment_id, array_agg(s.carrier) as shipment_carrier,
              array_agg(s.tracking_number) as shipment_tracking_number,
              array_agg(s.shipped_at) as shipment_shipped_at,
              array_agg(s.delivered_at) as shipment_delivered_at
         from (select * from shipments where order_id = o.id order by position) s
       ) shipments
 cross join lateral (
       select array_agg(sl.shipment_id) as shipment_line_shipment_id,
              array_agg(sl.line_id) as shipment_line_line_id,
              array_agg(sl.quantity) as shipment_line_quantity
         from (select sl.* from shipments s join shipment_lines sl on sl.shipment_id = s.id
                where s.order_id = o.id order by s.position, sl.position) sl
       ) shipment_lines
 cross join lateral (
       select array_agg(r.id) as return_id, array_agg(r.reason) as return_reason,
              array_agg(r.refund_amount) as return_refund_amount,
              array_agg(r.requested_at) as return_requested_at,
              array_agg(r.received_at) as return_received_at
         from (select * from returns where order_id = o.id order by position) r
       ) returns
 cross join lateral (
       select array_agg(rl.return_id) as return_line_return_id,
              array_agg(rl.line_id) as return_line_line_id,
              array_agg(rl.quantity) as return_line_quantity
         from (select rl.* from returns r join return_lines rl on rl.return_id = r.id
                where r.order_id = o.id order by r.position, rl.position) rl
       ) return_lines
 cross join lateral (
       select array_agg(h.sequence) as history_sequence,
              array_agg(h.from_status) as history_from_status,
              array_agg(h.to_status) as history_to_status, array_agg(h.reason) as history_reason,
              array_agg(h.actor) as history_actor, array_agg(h.at) as history_at
         from (select * from order_status_history where order_id = o.id order by sequence) h
       ) history
