-- How the customer pays (`credit_card`, `paypal`), as the seeds carry it on
-- orders: chosen at checkout or by the latest payment attempt that named
-- one. Nullable, no default: adding it rewrites no row.
alter table orders add column payment_method text
    check (payment_method is null or payment_method ~ '^[A-Za-z0-9._/-]{1,64}$');
