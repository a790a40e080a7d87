
-- The change's events: every change has one at least.
events_added as (
    -- The global position is given after commit, by the sequencer.
    insert into outbox_events (id, order_id, sequence, event_type, occurred_at, actor, payload)
    select e.id, ord.id, e.sequence, e.event_type, e.occurred_at, e.actor, e.payload
      from ord, input,
           unnest(input.event_id, input.event_sequence, input.event_type,
                  input.event_occurred_at, input.event_actor, input.event_payload)
           as e(id, sequence, event_type, occurred_at, actor, payload)
),
