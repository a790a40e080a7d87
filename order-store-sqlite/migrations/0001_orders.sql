-- The order store: orders and everything committed with them.
--
-- Conventions for every table of this crate:
-- * tables are STRICT, so a column holds only its declared type;
-- * ids are UUID text (lower-case, hyphenated), which sorts as the UUID's
--   bytes do;
-- * timestamps are RFC 3339 UTC text with nine fractional digits
--   (2026-03-01T12:00:00.000000000Z), so text order is time order;
-- * amounts are exact decimal text, never REAL.

-- One row per order: the columns lookups, filters and keyset paging need,
-- and the whole order as a JSON document (see `document.rs`). `version` is
-- the column every write compares and sets.
create table orders (
    id          text primary key,
    number      text not null unique,
    customer_id text not null,
    status      text not null,
    created_at  text not null,
    version     integer not null check (version >= 1),
    document    text not null check (json_valid(document))
) strict;

-- Keyset listing: every filter the API offers walks an index in
-- (created_at, id) order.
create index orders_customer_created on orders (customer_id, created_at, id);
create index orders_status_created on orders (status, created_at, id);
create index orders_created on orders (created_at, id);

-- The outbox, which is also each order's event stream. `position` is given
-- inside the write transaction; SQLite has one writer at a time, so
-- positions follow commit order and a reader never sees n+1 before n.
-- AUTOINCREMENT: a position is never reused.
create table outbox (
    position    integer primary key autoincrement,
    event_id    text not null unique,
    order_id    text not null references orders (id),
    sequence    integer not null check (sequence >= 1),
    event_type  text not null,
    occurred_at text not null,
    record      text not null check (json_valid(record)),
    published   integer not null default 0 check (published in (0, 1)),
    unique (order_id, sequence)
) strict;
create index outbox_unpublished on outbox (position) where published = 0;

-- A key is in flight while `order_id` is null, completed once set.
create table idempotency_keys (
    key         text primary key check (length(key) between 1 and 255),
    fingerprint text not null,
    claimed_at  text not null,
    order_id    text references orders (id)
) strict;

create table inbound_events (
    event_id     text primary key,
    order_id     text not null references orders (id),
    processed_at text not null
) strict;

-- Steps that could not be undone, for an operator; `order_id` is not a
-- foreign key because the order may never have been stored.
create table compensations (
    id       integer primary key autoincrement,
    order_id text not null,
    step     text not null,
    amount   text,
    currency text,
    detail   text not null,
    at       text not null,
    check ((amount is null) = (currency is null))
) strict;
