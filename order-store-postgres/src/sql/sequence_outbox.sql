-- One batch of the outbox sequencer: the committed events without a global
-- position, written at or above the sequencer's start ($2, a transaction
-- id), get the next positions, in (written_by, order_id, sequence) order.
-- One order's events are written by successive transactions, so they keep
-- their order. Run by one sequencer at a time (the caller holds the
-- transaction-scoped advisory lock), in its own short transaction, and
-- repeated while batches come back full, so a backlog never becomes one long
-- statement. Answers how many events it positioned, and the last writing
-- transaction among them.
with batch as (
    select id
      from outbox_events
     where position is null
       and written_by >= $2::bigint::text::xid8
     order by written_by, order_id, sequence
     limit $1::bigint
),
numbered as (
    select id, nextval('outbox_position_seq') as position from batch
),
positioned as (
    -- By primary key, and on purpose without `o.position is null`: that
    -- condition would let the planner reach the rows through the partial
    -- index of waiting events. Statistics taken when little waits (the usual
    -- case) make that index look empty, and the plan then walks all of it,
    -- with the entries of every event positioned since the last vacuum,
    -- filtering by id. The condition adds nothing: one sequencer runs at a
    -- time (the lock), the batch was read in this statement's snapshot, and
    -- only the sequencer sets a position.
    update outbox_events o
       set position = n.position
      from numbered n
     where o.id = n.id
    returning o.written_by
)
select count(*) as positioned,
       max(written_by::text::bigint) as last_written_by
  from positioned
