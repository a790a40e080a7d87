-- The order store: orders and everything committed with them.
-- Money is NUMERIC with the order's currency; amounts sit on the currency's
-- minor unit (order-core guarantees it, the CHECKs keep it honest).

create table orders (
    id                  uuid primary key,
    number              text not null,
    customer_id         uuid not null,
    currency            char(3) not null check (currency ~ '^[A-Z]{3}$'),
    status              text not null check (status in (
                            'pending', 'confirmed', 'processing', 'partially_shipped',
                            'shipped', 'delivered', 'completed', 'cancelled', 'returned')),
    payment_status      text not null check (payment_status in (
                            'unpaid', 'pending', 'authorized', 'paid', 'failed', 'voided',
                            'partially_refunded', 'refunded')),
    subtotal            numeric(24, 4) not null check (subtotal >= 0),
    discount            numeric(24, 4) not null check (discount >= 0),
    tax                 numeric(24, 4) not null check (tax >= 0),
    shipping            numeric(24, 4) not null check (shipping >= 0),
    total               numeric(24, 4) not null check (total >= 0),
    shipping_address    jsonb,
    billing_address     jsonb,
    shipping_method     text,
    coupon_code         text,
    discount_rule       jsonb,
    notes               text check (char_length(notes) <= 2000),
    pricing             jsonb not null,
    reservation         jsonb not null,
    payment_attempts    integer not null check (payment_attempts >= 0),
    cancellation_reason text,
    cancelled_by        text,
    version             bigint not null check (version >= 1),
    created_at          timestamptz not null,
    updated_at          timestamptz not null,
    confirmed_at        timestamptz,
    cancelled_at        timestamptz,
    delivered_at        timestamptz,
    completed_at        timestamptz,
    constraint orders_number_key unique (number),
    constraint orders_totals_identity check (total = subtotal - discount + tax + shipping),
    constraint orders_cancelled_has_reason check (status <> 'cancelled' or cancellation_reason is not null)
);

-- Keyset listing: every filter combination the API offers walks an index in
-- (created_at, id) order.
create index orders_customer_created_idx on orders (customer_id, created_at, id);
create index orders_status_created_idx on orders (status, created_at, id);
create index orders_created_idx on orders (created_at, id);

create table order_lines (
    id                   uuid primary key,
    order_id             uuid not null references orders (id) on delete cascade,
    position             integer not null check (position >= 0),
    product_id           uuid not null,
    variant_id           uuid,
    sku                  text not null,
    name                 text not null,
    kind                 text not null check (kind in ('physical', 'digital')),
    tax_class            text not null,
    tax_rate             numeric(7, 4) not null check (tax_rate between 0 and 100),
    quantity             integer not null check (quantity > 0),
    unit_price           numeric(24, 4) not null check (unit_price >= 0),
    subtotal             numeric(24, 4) not null check (subtotal >= 0),
    discount             numeric(24, 4) not null check (discount >= 0),
    tax                  numeric(24, 4) not null check (tax >= 0),
    total                numeric(24, 4) not null check (total >= 0),
    qty_ordered          integer not null check (qty_ordered = quantity),
    qty_cancelled        integer not null check (qty_cancelled >= 0),
    qty_shipped          integer not null check (qty_shipped >= 0),
    qty_delivered        integer not null check (qty_delivered >= 0),
    qty_returned         integer not null check (qty_returned >= 0),
    qty_return_requested integer not null check (qty_return_requested >= 0),
    -- Deferred: an edit that removes a line shifts the positions after it
    -- within one statement.
    constraint order_lines_position_key unique (order_id, position) deferrable initially deferred,
    constraint order_lines_ledger check (
        qty_cancelled <= qty_ordered
        and qty_shipped <= qty_ordered - qty_cancelled
        and qty_delivered <= qty_shipped
        and qty_returned + qty_return_requested <= qty_shipped),
    constraint order_lines_amounts check (total = subtotal - discount + tax)
);
create index order_lines_order_idx on order_lines (order_id);

create table order_status_history (
    order_id    uuid not null references orders (id) on delete cascade,
    sequence    bigint not null check (sequence >= 1),
    from_status text,
    to_status   text not null,
    reason      text not null,
    actor       text not null,
    at          timestamptz not null,
    primary key (order_id, sequence)
);

create table payment_entries (
    id              uuid primary key,
    order_id        uuid not null references orders (id) on delete cascade,
    position        integer not null check (position >= 0),
    kind            text not null check (kind in ('authorize', 'capture', 'void', 'refund')),
    amount          numeric(24, 4) not null check (amount >= 0),
    reference       text,
    idempotency_key text not null,
    reason          text,
    return_id       uuid,
    at              timestamptz not null,
    constraint payment_entries_position_key unique (order_id, position)
);

create table shipments (
    id              uuid primary key,
    order_id        uuid not null references orders (id) on delete cascade,
    position        integer not null check (position >= 0),
    carrier         text,
    tracking_number text,
    shipped_at      timestamptz not null,
    delivered_at    timestamptz check (delivered_at is null or delivered_at >= shipped_at),
    constraint shipments_position_key unique (order_id, position)
);

create table shipment_lines (
    shipment_id uuid not null references shipments (id) on delete cascade,
    position    integer not null check (position >= 0),
    line_id     uuid not null references order_lines (id) on delete cascade,
    quantity    integer not null check (quantity > 0),
    primary key (shipment_id, position),
    constraint shipment_lines_line_key unique (shipment_id, line_id)
);

create table returns (
    id            uuid primary key,
    order_id      uuid not null references orders (id) on delete cascade,
    position      integer not null check (position >= 0),
    reason        text not null,
    refund_amount numeric(24, 4) not null check (refund_amount >= 0),
    requested_at  timestamptz not null,
    received_at   timestamptz check (received_at is null or received_at >= requested_at),
    constraint returns_position_key unique (order_id, position)
);

create table return_lines (
    return_id uuid not null references returns (id) on delete cascade,
    position  integer not null check (position >= 0),
    line_id   uuid not null references order_lines (id) on delete cascade,
    quantity  integer not null check (quantity > 0),
    primary key (return_id, position),
    constraint return_lines_line_key unique (return_id, line_id)
);

-- The outbox is also each order's event stream. `position` orders the global
-- feed; it is assigned after commit by a single sequencer (see
-- `outbox.rs`), so a reader never sees position n+1 before n.
create sequence outbox_position_seq;
create table outbox_events (
    id           uuid primary key,
    order_id     uuid not null references orders (id) on delete cascade,
    sequence     bigint not null check (sequence >= 1),
    event_type   text not null,
    occurred_at  timestamptz not null,
    actor        text not null,
    payload      jsonb not null,
    position     bigint,
    published_at timestamptz,
    constraint outbox_events_order_sequence_key unique (order_id, sequence),
    constraint outbox_events_position_key unique (position)
);
create index outbox_events_unsequenced_idx on outbox_events (order_id, sequence) where position is null;
create index outbox_events_unpublished_idx on outbox_events (position) where published_at is null;

create table idempotency_keys (
    key          text primary key check (char_length(key) between 1 and 255),
    fingerprint  text not null,
    state        text not null check (state in ('in_flight', 'completed')),
    order_id     uuid references orders (id) on delete cascade,
    claimed_at   timestamptz not null,
    completed_at timestamptz,
    constraint idempotency_keys_completed_has_order check ((state = 'completed') = (order_id is not null))
);

create table processed_inbound_events (
    event_id     text primary key,
    order_id     uuid not null references orders (id) on delete cascade,
    processed_at timestamptz not null
);

create table compensations (
    id       bigserial primary key,
    order_id uuid not null,
    step     text not null,
    amount   numeric(24, 4),
    currency char(3),
    detail   text not null,
    at       timestamptz not null
);

create sequence order_number_seq;
