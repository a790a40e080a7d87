-- The oldest sequenced events not yet published, by position (from the
-- partial index outbox_events_unpublished_idx).
select id, order_id, sequence, occurred_at, actor, payload, position
  from outbox_events
 where published_at is null and position is not null
 order by position
 limit $1::bigint
