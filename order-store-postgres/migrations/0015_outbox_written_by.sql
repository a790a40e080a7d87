-- The relay's scans start where the last ones ended, not at the oldest
-- entry of their partial indexes. Sequencing and publishing update each
-- event, so both partial indexes gather an entry per event already handled,
-- at the low end where every scan began; until a vacuum removes them, each
-- poll walked all of them (benchmarks: 3,400 pages a scan after 600,000
-- events, 20 to 70 ms, ten polls a second).
--
-- `written_by` is the transaction that wrote the event. A transaction below
-- the snapshot's xmin has ended, so once every event visible then is
-- positioned, the sequencer never needs to look below that xmin again
-- (`outbox.rs`). Events written before this migration read as 0, below any
-- such bound, so a backlog is positioned first. Adding a column with a
-- constant default rewrites nothing; the previous release's inserts get the
-- new default too.
alter table outbox_events add column written_by xid8 not null default '0';
alter table outbox_events alter column written_by set default pg_current_xact_id();

-- The events waiting for their position, in the sequencer's order: by
-- writing transaction, then order and sequence within it. Built in this
-- transaction, which holds writes to the outbox while it reads the table
-- (a concurrent build here would deadlock with the replicas waiting for
-- the migration lock). On a large outbox, build it by hand beforehand,
-- `create index concurrently outbox_events_waiting_idx` with this
-- definition, and this migration keeps it.
create index if not exists outbox_events_waiting_idx
    on outbox_events (written_by, order_id, sequence)
    where position is null;

-- The old order's index (migration 0008). Only a faster path: the previous
-- release's sequencer, during a rollout, still finds the waiting events
-- through the new index (and sorts them).
drop index outbox_events_unsequenced_idx;
