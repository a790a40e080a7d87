
-- A change to a stored order: compare-and-set on the version, then each
-- child table brought to the order's state.
--
-- The gate is `ord`, the order row, updated only if its version is still the
-- one the change was decided against. When another writer won, every other
-- part, which joins `ord`, writes nothing and the statement answers 0. Id,
-- number, customer, currency and creation time never change.
--
-- Each child table is read through the order's id (its index on
-- `order_id`): a child row whose id the order does not have yet is
-- inserted, a stored one that differs is updated, an equal one is left alone
-- (no lock, no WAL). No `on conflict`: the statement knows which rows exist,
-- so no insert is speculative.
ord as (
    update orders o
       set status = i.status, payment_status = i.payment_status, subtotal = i.subtotal,
           discount = i.discount, tax = i.tax, shipping = i.shipping, total = i.total,
           shipping_address = i.shipping_address, billing_address = i.billing_address,
           shipping_method = i.shipping_method, payment_method = i.payment_method,
           coupon_code = i.coupon_code,
           discount_rule = i.discount_rule, notes = i.notes, pricing = i.pricing,
           reservation = i.reservation, payment_attempts = i.payment_attempts,
           cancellation_reason = i.cancellation_reason, cancelled_by = i.cancelled_by,
           version = i.version, updated_at = i.updated_at, confirmed_at = i.confirmed_at,
           cancelled_at = i.cancelled_at, delivered_at = i.delivered_at,
           completed_at = i.completed_at, captured = i.captured, refunded = i.refunded,
           failed_payment_attempts = i.failed_payment_attempts
      from input i
     where o.id = i.id
       and o.version = i.expected_version
    returning o.id
),
