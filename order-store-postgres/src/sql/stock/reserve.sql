
-- Reserve: the order holds exactly `stock_sku`/`stock_quantity` (the SKUs
-- stock keeps; a SKU without a `stock_levels` row is not tracked) until
-- `reserve_until`. Each SKU's level changes once, by what the order is to
-- hold minus what it holds; overselling fails the `stock_levels_no_oversell`
-- CHECK, and with it the whole statement.
--
-- Levels are locked in SKU order before they change, so writers never wait
-- on each other in a cycle, and are only ever read by key for a list of
-- SKUs (`sku = any (…)`, `stock_levels_pkey`).
held as (
    select r.sku, r.quantity
      from ord, stock_reservations r
     where r.order_id = ord.id
),
wanted as (
    select w.sku, w.quantity
      from ord, input, unnest(input.stock_sku, input.stock_quantity) as w(sku, quantity)
     where w.sku in (select s.sku from stock_levels s where s.sku = any (input.stock_sku))
),
stock_delta as (
    select d.sku, sum(d.quantity)::integer as reserved
      from (select sku, quantity from wanted
            union all
            select sku, -quantity from held) d
     group by d.sku
    having sum(d.quantity) <> 0
),
stock_locked as (
    -- `no key update` is the lock the update takes anyway.
    select s.sku
      from stock_levels s
     where s.sku = any (array(select sku from stock_delta))
     order by s.sku
       for no key update
),
stock_changed as (
    update stock_levels s
       set reserved = s.reserved + d.reserved, updated_at = now()
      from stock_delta d
     where s.sku = any (array(select sku from stock_locked)) and s.sku = d.sku
),
hold_dropped as (
    delete from stock_reservations r
     using ord
     where r.order_id = ord.id and r.sku not in (select sku from wanted)
),
hold_added as (
    insert into stock_reservations (order_id, sku, quantity, expires_at)
    select ord.id, w.sku, w.quantity, input.reserve_until
      from ord, input, wanted w
     where w.sku not in (select sku from held)
),
hold_changed as (
    update stock_reservations r
       set quantity = w.quantity, expires_at = input.reserve_until
      from ord, input, wanted w
     where r.order_id = ord.id and r.sku = w.sku
       and (r.quantity, r.expires_at) is distinct from (w.quantity, input.reserve_until)
),
