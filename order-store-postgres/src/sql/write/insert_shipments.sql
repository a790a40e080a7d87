
-- A new order's shipments, with their lines, after `insert.sql` (seeding
-- inserts orders further along their life).
shipments_added as (
    insert into shipments (id, order_id, position, carrier, tracking_number, shipped_at,
                           delivered_at)
    select s.id, ord.id, (s.n - 1)::integer, s.carrier, s.tracking_number, s.shipped_at,
           s.delivered_at
      from ord, input,
           unnest(input.shipment_id, input.shipment_carrier, input.shipment_tracking_number,
                  input.shipment_shipped_at, input.shipment_delivered_at)
           with ordinality as s(id, carrier, tracking_number, shipped_at, delivered_at, n)
),
shipment_lines_added as (
    insert into shipment_lines (shipment_id, position, line_id, quantity)
    select l.shipment_id, l.position, l.line_id, l.quantity
      from ord, input,
           unnest(input.shipment_line_shipment_id, input.shipment_line_position,
                  input.shipment_line_line_id, input.shipment_line_quantity)
           as l(shipment_id, position, line_id, quantity)
),
