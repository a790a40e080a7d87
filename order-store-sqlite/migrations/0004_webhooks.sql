-- Outbound webhooks: subscriptions, the position up to which the feed was
-- turned into deliveries, the deliveries (each message as it is sent) and
-- their attempts. Times are fixed-width text that sorts as time.
create table webhook_subscriptions (
    id          text primary key,
    url         text not null,
    event_types text not null, -- a JSON array of types
    secret      text not null,
    created_at  text not null
);

create table webhook_fan_out (
    id       integer primary key check (id = 1),
    position integer not null check (position >= 0)
);
insert into webhook_fan_out (id, position) values (1, 0);

create table webhook_deliveries (
    id              text primary key,
    subscription_id text not null references webhook_subscriptions (id) on delete cascade,
    message_id      text not null,
    event_type      text not null,
    position        integer not null,
    headers         text not null, -- a JSON array of [name, value]
    body            text not null,
    state           text not null check (state in ('pending', 'delivered', 'failed')),
    attempts        integer not null check (attempts >= 0),
    next_attempt_at text not null,
    give_up_at      text not null,
    last_status     integer,
    last_error      text,
    created_at      text not null,
    unique (subscription_id, message_id)
);
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at, position)
    where state = 'pending';
create index webhook_deliveries_of_subscription on webhook_deliveries (subscription_id, position);

create table webhook_attempts (
    delivery_id text not null references webhook_deliveries (id) on delete cascade,
    number      integer not null check (number >= 1),
    at          text not null,
    status      integer,
    error       text,
    took_ms     integer not null,
    primary key (delivery_id, number)
);
