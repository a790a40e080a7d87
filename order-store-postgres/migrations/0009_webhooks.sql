-- Outbound webhooks: subscriptions, the feed position up to which messages
-- became deliveries, the deliveries (each message as it is sent) and their
-- attempts.
create table webhook_subscriptions (
    id          uuid primary key,
    url         text not null,
    event_types text[] not null check (cardinality(event_types) >= 1),
    secret      text not null,
    created_at  timestamptz not null
);

create table webhook_fan_out (
    id       smallint primary key check (id = 1),
    position bigint not null check (position >= 0)
);
insert into webhook_fan_out (id, position) values (1, 0);

create table webhook_deliveries (
    id              uuid primary key,
    subscription_id uuid not null references webhook_subscriptions (id) on delete cascade,
    message_id      text not null,
    event_type      text not null,
    position        bigint not null,
    headers         jsonb not null, -- [[name, value], ...], as sent
    body            text not null,
    state           text not null check (state in ('pending', 'delivered', 'failed')),
    attempts        integer not null check (attempts >= 0),
    next_attempt_at timestamptz not null,
    give_up_at      timestamptz not null,
    last_status     integer,
    last_error      text,
    created_at      timestamptz not null,
    constraint webhook_deliveries_message_key unique (subscription_id, message_id)
);
create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at, position)
    where state = 'pending';
create index webhook_deliveries_of_subscription_idx
    on webhook_deliveries (subscription_id, position);

create table webhook_attempts (
    delivery_id uuid not null references webhook_deliveries (id) on delete cascade,
    number      integer not null check (number >= 1),
    at          timestamptz not null,
    status      integer,
    error       text,
    took_ms     bigint not null,
    primary key (delivery_id, number)
);
