-- The ceiling: the rows one order placement must write, as plain SQL, with
-- nothing of the engine. order-bench measures pgbench running place.sql on
-- these tables beside the service, in the same run and at the same
-- concurrency. Each placement writes 1 order, 3 lines, 1 status-history
-- row and 1 outbox event in one transaction.
drop table if exists outbox, order_history, order_lines, orders cascade;

create table orders (
    id               uuid primary key,
    customer_id      uuid          not null,
    status           text          not null,
    currency         char(3)       not null,
    subtotal         numeric(19,4) not null,
    tax              numeric(19,4) not null,
    shipping         numeric(19,4) not null,
    total            numeric(19,4) not null,
    shipping_address jsonb         not null,
    idempotency_key  text          unique,
    version          integer       not null default 1,
    created_at       timestamptz   not null default now(),
    updated_at       timestamptz   not null default now()
);
create index orders_by_customer on orders (customer_id, created_at desc);
create index orders_by_status on orders (status);

create table order_lines (
    id         uuid primary key,
    order_id   uuid          not null references orders (id) on delete cascade,
    product_id uuid          not null,
    sku        text          not null,
    quantity   integer       not null check (quantity > 0),
    unit_price numeric(19,4) not null,
    total      numeric(19,4) not null,
    created_at timestamptz   not null default now()
);
create index order_lines_by_order on order_lines (order_id);

create table order_history (
    id          bigint generated always as identity primary key,
    order_id    uuid        not null references orders (id) on delete cascade,
    from_status text,
    to_status   text        not null,
    reason      text,
    at          timestamptz not null default now()
);
create index order_history_by_order on order_history (order_id);

create table outbox (
    id           uuid primary key,
    order_id     uuid        not null,
    event_type   text        not null,
    payload      jsonb       not null,
    created_at   timestamptz not null default now(),
    published_at timestamptz
);
create index outbox_unpublished on outbox (created_at) where published_at is null;
