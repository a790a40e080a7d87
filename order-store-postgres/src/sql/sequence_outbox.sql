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
    -- By primary key: the partial index holds the entries of events
    -- positioned since the last vacuum, which a plan joining through it
    -- would walk.
    update outbox_events o
       set position = n.position
      from numbered n
     where o.id = any (array(select id from batch))
       and o.id = n.id
       and o.position is null
    returning o.written_by
)
select count(*) as positioned,
       max(written_by::text::bigint) as last_written_by
  from positioned
