
-- Commit: the units the order holds are sold; they leave stock and the hold
-- ends. Levels are locked in SKU order before they change (see
-- `reserve.sql`).
held as (
    select r.sku, r.quantity
      from ord, stock_reservations r
     where r.order_id = ord.id
),
stock_locked as (
    select s.sku
      from stock_levels s
     where s.sku = any (array(select sku from held))
     order by s.sku
       for no key update
),
stock_changed as (
    update stock_levels s
       set on_hand = s.on_hand - h.quantity, reserved = s.reserved - h.quantity,
           updated_at = now()
      from held h
     where s.sku = any (array(select sku from stock_locked)) and s.sku = h.sku
),
hold_ended as (
    delete from stock_reservations r
     using ord
     where r.order_id = ord.id
),
