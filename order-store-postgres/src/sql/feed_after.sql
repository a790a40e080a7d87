-- The global feed: sequenced events after a position, by position.
select id, order_id, sequence, occurred_at, actor, payload::text as payload, payload->>'type' as payload_type, position
  from outbox_events
 where position > $1::bigint
 order by position
 limit $2::bigint
