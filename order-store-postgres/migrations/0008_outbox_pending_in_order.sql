-- The sequencer positions the oldest unsequenced events first, by
-- (occurred_at, order_id, sequence), a batch at a time. Indexed by
-- (order_id, sequence), each batch read and sorted every event still
-- waiting, so a backlog cost every batch the whole backlog; indexed in the
-- sequencer's order, a batch reads its own entries and stops.
drop index outbox_events_unsequenced_idx;
create index outbox_events_unsequenced_idx on outbox_events (occurred_at, order_id, sequence)
    where position is null;
