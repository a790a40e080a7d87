
-- Restock: `stock_sku`/`stock_quantity` come back on the shelf, once per
-- order and `restock_key` (a retry finds the key recorded and adds nothing).
-- Levels are locked in SKU order before they change (see `reserve.sql`).
restock_recorded as (
    insert into stock_restocks (order_id, key)
    select ord.id, input.restock_key
      from ord, input
    on conflict do nothing
    returning order_id
),
restocked as (
    select b.sku, sum(b.quantity)::integer as quantity
      from restock_recorded, input,
           unnest(input.stock_sku, input.stock_quantity) as b(sku, quantity)
     group by b.sku
),
stock_locked as (
    select s.sku
      from stock_levels s
     where s.sku = any (array(select sku from restocked))
     order by s.sku
       for no key update
),
stock_changed as (
    update stock_levels s
       set on_hand = s.on_hand + b.quantity, updated_at = now()
      from restocked b
     where s.sku = any (array(select sku from stock_locked)) and s.sku = b.sku
),
