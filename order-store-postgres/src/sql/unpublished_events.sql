-- The oldest sequenced events not yet published, by position, above $2:
-- every event at or below it is published already, so the scan starts
-- there rather than at the entries of events published since the last
-- vacuum.
select id, order_id, sequence, occurred_at, actor, payload::text as payload, payload->>'type' as payload_type, position
  from outbox_events
 where published_at is null and position is not null
   and position > $2::bigint
 order by position
 limit $1::bigint
