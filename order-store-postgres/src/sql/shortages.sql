-- Per tracked SKU asked for, what an order could hold: what is free plus
-- what it holds already.
select s.sku, s.on_hand - s.reserved + coalesce(r.quantity, 0) as available
  from stock_levels s
  left join stock_reservations r on r.sku = s.sku and r.order_id = $1::uuid
 where s.sku = any ($2::text[])
