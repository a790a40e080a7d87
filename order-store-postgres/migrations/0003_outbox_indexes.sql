-- Outbox events are inserted without a global position; the sequencer
-- gives them one after commit. Until then they do not belong in the
-- indexes over `position`: indexing their NULLs cost two index entries
-- (and their WAL) per event for nothing.

drop index outbox_events_unpublished_idx;
create index outbox_events_unpublished_idx on outbox_events (position)
    where published_at is null and position is not null;

alter table outbox_events drop constraint outbox_events_position_key;
create unique index outbox_events_position_key on outbox_events (position)
    where position is not null;
