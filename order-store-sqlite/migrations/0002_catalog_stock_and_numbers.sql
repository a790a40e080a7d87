-- A local catalog, stock and order numbers, so a one-file deployment needs
-- no other service.

create table products (
    product_id text not null,
    variant_id text,
    sku        text not null unique,
    name       text not null,
    unit_price text not null,
    currency   text not null,
    tax_class  text not null,
    kind       text not null check (kind in ('physical', 'digital')),
    active     integer not null check (active in (0, 1))
) strict;
create unique index products_key on products (product_id, ifnull(variant_id, ''));

-- Stock is tracked per SKU; a SKU without a row is not tracked (digital
-- goods, made to order) and never runs out. `reserved` is the sum of the
-- SKU's holds; `reserved <= on_hand` is the no-oversell rule, checked by
-- the code before every hold and kept by the database as a last guard.
create table stock (
    sku      text primary key,
    on_hand  integer not null check (on_hand >= 0),
    reserved integer not null default 0 check (reserved >= 0),
    check (reserved <= on_hand)
) strict;

-- What each order holds. `order_id` is not a foreign key: the inventory
-- port reserves before the order is stored.
create table stock_holds (
    order_id   text not null,
    sku        text not null references stock (sku),
    quantity   integer not null check (quantity > 0),
    expires_at text not null,
    primary key (order_id, sku)
) strict;

-- Restocks done, so each (order, key) puts units back once.
create table stock_restocks (
    order_id text not null,
    key      text not null,
    primary key (order_id, key)
) strict;

-- Named counters; `order_number` is the last order number handed out.
create table counters (
    name  text primary key,
    value integer not null check (value >= 0)
) strict;
insert into counters (name, value) values ('order_number', 0);
