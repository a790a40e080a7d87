-- The catalog's products for a placement or an edit, by product id (the
-- caller keeps the variants it asked for).
select product_id, variant_id, sku, name, unit_price, currency, tax_class, kind, active
  from products
 where product_id = any ($1::uuid[])
