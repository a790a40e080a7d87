-- One batch of the outbox sequencer: the oldest committed events without a
-- global position get the next positions, in (occurred_at, order_id,
-- sequence) order. Run by one sequencer at a time (the caller holds the
-- transaction-scoped advisory lock), in its own short transaction, and
-- repeated while batches come back full, so a backlog never becomes one long
-- statement. Answers how many events it positioned.
with batch as (
    select id
      from outbox_events
     where position is null
     order by occurred_at, order_id, sequence
     limit $1::bigint
),
numbered as (
    select id, nextval('outbox_position_seq') as position from batch
),
positioned as (
    update outbox_events o
       set position = n.position
      from numbered n
     where o.id = n.id and o.position is null
    returning 1
)
select count(*) from positioned
