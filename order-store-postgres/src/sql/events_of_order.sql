-- Every event of one order, by sequence.
select id, order_id, sequence, occurred_at, actor, payload::text as payload, payload->>'type' as payload_type
  from outbox_events
 where order_id = $1::uuid
 order by sequence
