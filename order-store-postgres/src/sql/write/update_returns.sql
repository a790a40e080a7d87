
-- A stored order's returns: new ones inserted with their lines, a receipt
-- recorded on the stored row. Their lines never change once written.
return_rows as (
    select r.id, ord.id as order_id, (r.n - 1)::integer as position, r.reason,
           r.refund_amount, r.requested_at, r.received_at
      from ord, input,
           unnest(input.return_id, input.return_reason, input.return_refund_amount,
                  input.return_requested_at, input.return_received_at)
           with ordinality as r(id, reason, refund_amount, requested_at, received_at, n)
),
stored_returns as (
    select s.id from ord join returns s on s.order_id = ord.id
),
returns_added as (
    insert into returns (id, order_id, position, reason, refund_amount, requested_at,
                         received_at)
    select r.* from return_rows r
     where r.id not in (select id from stored_returns)
),
returns_changed as (
    update returns s
       set received_at = r.received_at
      from ord, return_rows r
     where s.order_id = ord.id and s.id = r.id
       and s.received_at is distinct from r.received_at
),
return_lines_added as (
    insert into return_lines (return_id, position, line_id, quantity)
    select l.return_id, l.position, l.line_id, l.quantity
      from ord, input,
           unnest(input.return_line_return_id, input.return_line_position,
                  input.return_line_line_id, input.return_line_quantity)
           as l(return_id, position, line_id, quantity)
     where l.return_id not in (select id from stored_returns)
),
