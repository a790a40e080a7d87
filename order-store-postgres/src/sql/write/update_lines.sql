
-- The lines of a stored order, when the change may have changed them
-- (`Change::lines_changed`): follows `update.sql`. A change that touched no
-- line (a payment, a status change) leaves this part out, and with it the
-- three reads of the stored lines.
--
-- Lines: new ones inserted, changed ones updated, removed ones deleted (an
-- edit renumbers the positions after a removed line: the position key is
-- checked at commit).
line_rows as (
    select l.id, ord.id as order_id, (l.n - 1)::integer as position, l.product_id,
           l.variant_id, l.sku, l.name, l.kind, l.tax_class, l.tax_rate, l.quantity,
           l.unit_price, l.subtotal, l.discount, l.tax, l.total, l.qty_ordered,
           l.qty_cancelled, l.qty_shipped, l.qty_delivered, l.qty_returned,
           l.qty_return_requested
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
lines_added as (
    insert into order_lines (id, order_id, position, product_id, variant_id, sku, name, kind,
                             tax_class, tax_rate, quantity, unit_price, subtotal, discount, tax,
                             total, qty_ordered, qty_cancelled, qty_shipped, qty_delivered,
                             qty_returned, qty_return_requested)
    select r.* from line_rows r
     where r.id not in (select s.id from ord join order_lines s on s.order_id = ord.id)
),
lines_changed as (
    -- What was bought (product, SKU, name, kind, tax class) never changes.
    -- `line_rows` has the columns of `order_lines`, in order, so a stored
    -- row and its new state compare whole.
    update order_lines s
       set position = r.position, quantity = r.quantity, tax_rate = r.tax_rate,
           unit_price = r.unit_price, subtotal = r.subtotal, discount = r.discount,
           tax = r.tax, total = r.total, qty_ordered = r.qty_ordered,
           qty_cancelled = r.qty_cancelled, qty_shipped = r.qty_shipped,
           qty_delivered = r.qty_delivered, qty_returned = r.qty_returned,
           qty_return_requested = r.qty_return_requested
      from ord, line_rows r
     where s.order_id = ord.id and s.id = r.id and s is distinct from r
),
lines_removed as (
    delete from order_lines s
     using ord, input
     where s.order_id = ord.id and s.id <> all (input.line_id)
),
