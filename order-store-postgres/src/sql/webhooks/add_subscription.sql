-- A new webhook subscription.
insert into webhook_subscriptions (id, url, event_types, secret, created_at)
values ($1::uuid, $2::text, $3::text[], $4::text, $5::timestamptz)
