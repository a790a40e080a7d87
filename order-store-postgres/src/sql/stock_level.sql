-- A SKU's stock level.
select on_hand, reserved from stock_levels where sku = $1::text
