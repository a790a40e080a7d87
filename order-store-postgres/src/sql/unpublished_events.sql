-- The oldest sequenced events not yet published, by position, above $2:
-- every event at or below it is published already (from the partial index
-- outbox_events_unpublished_idx, starting at $2 rather than at the entries
-- of events published since the last vacuum).
select id, order_id, sequence, occurred_at, actor, payload, position
  from outbox_events
 where published_at is null and position is not null
   and position > $2::bigint
 order by position
 limit $1::bigint
