-- Where the sequencer may start its next scan (the oldest transaction still
-- writing: every one below it has ended), and whether any committed event
-- written at or above the current start ($1) still waits for its position.
-- Both from one snapshot. The first waiting entry in index order, not
-- `exists`, whose plan may read the table from its start instead.
select pg_snapshot_xmin(pg_current_snapshot())::text::bigint as horizon,
       (select written_by
          from outbox_events
         where position is null
           and written_by >= $1::bigint::text::xid8
         order by written_by
         limit 1) is not null as pending
