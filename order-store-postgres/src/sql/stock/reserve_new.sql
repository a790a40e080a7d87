
-- Reserve for an order being placed: `reserve.sql` for an order that holds
-- nothing yet. Each SKU's level grows by what the order is to hold, and the
-- hold is inserted; there is no earlier hold to read, drop or change, so
-- the statement starts none of those parts. Overselling fails the
-- `stock_levels_no_oversell` CHECK, and with it the whole statement.
--
-- Levels are locked in SKU order before they change, as in `reserve.sql`.
wanted as (
    select w.sku, w.quantity
      from ord, input, unnest(input.stock_sku, input.stock_quantity) as w(sku, quantity)
     where w.sku in (select s.sku from stock_levels s where s.sku = any (input.stock_sku))
),
stock_locked as (
    -- `no key update` is the lock the update takes anyway.
    select s.sku
      from stock_levels s
     where s.sku = any (array(select sku from wanted))
     order by s.sku
       for no key update
),
stock_changed as (
    update stock_levels s
       set reserved = s.reserved + w.quantity, updated_at = now()
      from wanted w
     where s.sku = any (array(select sku from stock_locked)) and s.sku = w.sku
),
hold_added as (
    insert into stock_reservations (order_id, sku, quantity, expires_at)
    select ord.id, w.sku, w.quantity, input.reserve_until
      from ord, input, wanted w
),
