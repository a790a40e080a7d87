-- New deliveries, one array per column; a message already enqueued for a
-- subscription is kept as it is.
insert into webhook_deliveries (id, subscription_id, message_id, event_type, position,
                                headers, body, state, attempts,
                                next_attempt_at, give_up_at, last_status, last_error, created_at)
select d.id, d.subscription_id, d.message_id, d.event_type, d.position,
       d.headers::jsonb, d.body, d.state, d.attempts, d.next_attempt_at, d.give_up_at, d.last_status,
       d.last_error, d.created_at
  from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::bigint[], $6::text[],
              $7::text[], $8::text[], $9::integer[], $10::timestamptz[], $11::timestamptz[],
              $12::integer[], $13::text[], $14::timestamptz[])
       as d(id, subscription_id, message_id, event_type, position, headers, body, state,
            attempts, next_attempt_at, give_up_at, last_status, last_error, created_at)
    on conflict on constraint webhook_deliveries_message_key do nothing
