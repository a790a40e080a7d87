
-- The change's new status history entries.
history_added as (
    insert into order_status_history (order_id, sequence, from_status, to_status, reason,
                                      actor, at)
    select ord.id, h.sequence, h.from_status, h.to_status, h.reason, h.actor, h.at
      from ord, input,
           unnest(input.history_sequence, input.history_from_status, input.history_to_status,
                  input.history_reason, input.history_actor, input.history_at)
           as h(sequence, from_status, to_status, reason, actor, at)
),
