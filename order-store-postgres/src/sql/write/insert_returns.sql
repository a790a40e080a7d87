
-- A new order's returns, with their lines.
returns_added as (
    insert into returns (id, order_id, position, reason, refund_amount, requested_at,
                         received_at)
    select r.id, ord.id, (r.n - 1)::integer, r.reason, r.refund_amount, r.requested_at,
           r.received_at
      from ord, input,
           unnest(input.return_id, input.return_reason, input.return_refund_amount,
                  input.return_requested_at, input.return_received_at)
           with ordinality as r(id, reason, refund_amount, requested_at, received_at, n)
),
return_lines_added as (
    insert into return_lines (return_id, position, line_id, quantity)
    select l.return_id, l.position, l.line_id, l.quantity
      from ord, input,
           unnest(input.return_line_return_id, input.return_line_position,
                  input.return_line_line_id, input.return_line_quantity)
           as l(return_id, position, line_id, quantity)
),
