-- Adds a product, or replaces the one with the same product and variant id.
insert into products (product_id, variant_id, sku, name, unit_price, currency, tax_class, kind,
                      active, updated_at)
values ($1::uuid, $2::uuid, $3::text, $4::text, $5::numeric, $6::text, $7::text, $8::text,
        $9::boolean, now())
on conflict (product_id, coalesce(variant_id, '00000000-0000-0000-0000-000000000000'::uuid))
do update set sku = excluded.sku, name = excluded.name, unit_price = excluded.unit_price,
              currency = excluded.currency, tax_class = excluded.tax_class,
              kind = excluded.kind, active = excluded.active, updated_at = now()
