-- A page of the catalog by SKU, after a SKU (none: from the start).
select product_id, variant_id, sku, name, unit_price, currency, tax_class, kind, active
  from products
 where sku > coalesce($1::text, '')
 order by sku
 limit $2::bigint
