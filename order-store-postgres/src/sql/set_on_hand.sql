-- Sets a SKU's units on hand (tracking it from now on); fewer than are held
-- fails the stock_levels_no_oversell CHECK.
insert into stock_levels (sku, on_hand)
values ($1::text, $2::integer)
on conflict (sku) do update set on_hand = excluded.on_hand, updated_at = now()
returning on_hand, reserved
