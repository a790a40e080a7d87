-- The same rules, cheaper to check (ADR 0018). PostgreSQL keeps a table's
-- CHECKs as node text and, for every statement that writes the table, reads
-- each one back into a tree and plans it (`ExecRelCheck`) before it checks a
-- row; that cost grows with the text, not with the rows. `orders` and
-- `order_lines` had 18 CHECKs each (about 15 KB and 13 KB of text), and a
-- statement writing either spent some 60-80 µs of server CPU on them.
--
-- Each table's rules are now one PL/pgSQL function of the whole row, and one
-- CHECK calls it: the CHECK's text is a few hundred bytes, and PL/pgSQL
-- keeps the function's expression parsed and planned for the session. Every
-- rule of the old CHECKs is in it, and nothing else: a row breaks the new
-- CHECK exactly when it broke one of the old ones (a conjunction is false
-- exactly when one of its parts is, and a NULL part passes, as a NULL CHECK
-- did; LEAST and GREATEST skip NULLs, and their columns are NOT NULL). The
-- money bounds (migration 0004) stay a CHECK of their own, NOT VALID as
-- before, written short.
--
-- A later migration that changes a rule replaces the function and then
-- re-validates the CHECK (drop it, add it NOT VALID, validate): replacing
-- the function alone re-checks no stored row.
--
-- NOT VALID: adding the CHECKs reads no row, so the table is locked only for
-- the catalog change; the rows already stored passed the old CHECKs, which
-- imply the new ones, and migration 0014 validates them online.

create function orders_row_rules(o orders) returns boolean
language plpgsql immutable as $$
begin
    return o.currency ~ '^[A-Z]{3}$'
       and o.status = any ('{pending,confirmed,processing,partially_shipped,shipped,delivered,completed,cancelled,returned}')
       and o.payment_status = any ('{unpaid,pending,authorized,paid,failed,voided,partially_refunded,refunded}')
       and least(o.subtotal, o.discount, o.tax, o.shipping, o.total, o.captured, o.refunded) >= 0
       and o.total = o.subtotal - o.discount + o.tax + o.shipping
       and (o.status <> 'cancelled' or o.cancellation_reason is not null)
       and char_length(o.notes) <= 2000
       and least(o.payment_attempts, o.failed_payment_attempts) >= 0
       and o.version >= 1
       and (o.payment_method is null or o.payment_method ~ '^[A-Za-z0-9._/-]{1,64}$');
end
$$;

create function order_lines_row_rules(l order_lines) returns boolean
language plpgsql immutable as $$
begin
    return l.kind = any ('{physical,digital}')
       and least(l.unit_price, l.subtotal, l.discount, l.tax, l.total, l.tax_rate) >= 0
       and l.tax_rate <= 100
       and l.total = l.subtotal - l.discount + l.tax
       and l.quantity > 0
       and l.qty_ordered = l.quantity
       and least(l.position, l.qty_cancelled, l.qty_shipped, l.qty_delivered, l.qty_returned,
                 l.qty_return_requested) >= 0
       -- The line's ledger: nothing is shipped that was cancelled, delivered
       -- that was not shipped, or returned that was not shipped.
       and l.qty_cancelled <= l.qty_ordered
       and l.qty_shipped <= l.qty_ordered - l.qty_cancelled
       and l.qty_delivered <= l.qty_shipped
       and l.qty_returned + l.qty_return_requested <= l.qty_shipped;
end
$$;

create function payment_entries_row_rules(e payment_entries) returns boolean
language plpgsql immutable as $$
begin
    return e.kind = any ('{authorize,capture,void,refund}')
       and e.amount >= 0
       and e.position >= 0;
end
$$;

alter table orders
    drop constraint orders_currency_check,
    drop constraint orders_status_check,
    drop constraint orders_payment_status_check,
    drop constraint orders_subtotal_check,
    drop constraint orders_discount_check,
    drop constraint orders_tax_check,
    drop constraint orders_shipping_check,
    drop constraint orders_total_check,
    drop constraint orders_captured_check,
    drop constraint orders_refunded_check,
    drop constraint orders_notes_check,
    drop constraint orders_payment_attempts_check,
    drop constraint orders_failed_payment_attempts_check,
    drop constraint orders_version_check,
    drop constraint orders_payment_method_check,
    drop constraint orders_totals_identity,
    drop constraint orders_cancelled_has_reason,
    drop constraint orders_amount_bounds,
    add constraint orders_row check (orders_row_rules(orders)) not valid,
    add constraint orders_amount_bounds check (
        greatest(subtotal, discount, tax, shipping, total) <= '100000000000000'
    ) not valid;

alter table order_lines
    drop constraint order_lines_position_check,
    drop constraint order_lines_kind_check,
    drop constraint order_lines_tax_rate_check,
    drop constraint order_lines_quantity_check,
    drop constraint order_lines_unit_price_check,
    drop constraint order_lines_subtotal_check,
    drop constraint order_lines_discount_check,
    drop constraint order_lines_tax_check,
    drop constraint order_lines_total_check,
    drop constraint order_lines_check,
    drop constraint order_lines_qty_cancelled_check,
    drop constraint order_lines_qty_shipped_check,
    drop constraint order_lines_qty_delivered_check,
    drop constraint order_lines_qty_returned_check,
    drop constraint order_lines_qty_return_requested_check,
    drop constraint order_lines_ledger,
    drop constraint order_lines_amounts,
    drop constraint order_lines_amount_bounds,
    add constraint order_lines_row check (order_lines_row_rules(order_lines)) not valid,
    add constraint order_lines_amount_bounds check (
        unit_price <= '1000000000000'
        and greatest(subtotal, discount, tax, total) <= '100000000000000'
    ) not valid;

alter table payment_entries
    drop constraint payment_entries_position_check,
    drop constraint payment_entries_kind_check,
    drop constraint payment_entries_amount_check,
    drop constraint payment_entries_amount_bounds,
    add constraint payment_entries_row check (payment_entries_row_rules(payment_entries)) not valid,
    add constraint payment_entries_amount_bounds check (
        amount <= '100000000000000'
    ) not valid;
