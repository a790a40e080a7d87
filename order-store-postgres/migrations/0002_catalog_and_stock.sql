-- A local catalog and stock, so a one-database deployment needs no other
-- service.

create table products (
    product_id uuid not null,
    variant_id uuid,
    sku        text not null,
    name       text not null,
    unit_price numeric(24, 4) not null check (unit_price >= 0),
    currency   char(3) not null check (currency ~ '^[A-Z]{3}$'),
    tax_class  text not null,
    kind       text not null check (kind in ('physical', 'digital')),
    active     boolean not null default true,
    updated_at timestamptz not null default now(),
    constraint products_sku_key unique (sku)
);
create unique index products_key_idx on products (product_id, coalesce(variant_id, '00000000-0000-0000-0000-000000000000'::uuid));

-- Stock is tracked per SKU; a SKU without a row is not tracked (digital
-- goods, made to order). `reserved <= on_hand` is the no-oversell rule,
-- enforced by the database itself.
create table stock_levels (
    sku        text primary key,
    on_hand    integer not null check (on_hand >= 0),
    reserved   integer not null default 0 check (reserved >= 0),
    updated_at timestamptz not null default now(),
    constraint stock_levels_no_oversell check (reserved <= on_hand)
);

create table stock_reservations (
    order_id   uuid not null,
    sku        text not null references stock_levels (sku),
    quantity   integer not null check (quantity > 0),
    expires_at timestamptz not null,
    primary key (order_id, sku)
);

create table stock_restocks (
    order_id uuid not null,
    key      text not null,
    at       timestamptz not null default now(),
    primary key (order_id, key)
);
