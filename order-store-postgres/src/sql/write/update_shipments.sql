
-- A stored order's shipments, after `update.sql`: new ones inserted with
-- their lines, a delivery recorded on the stored row. Their lines never
-- change once written.
shipment_rows as (
    select s.id, ord.id as order_id, (s.n - 1)::integer as position, s.carrier,
           s.tracking_number, s.shipped_at, s.delivered_at
      from ord, input,
           unnest(input.shipment_id, input.shipment_carrier, input.shipment_tracking_number,
                  input.shipment_shipped_at, input.shipment_delivered_at)
           with ordinality as s(id, carrier, tracking_number, shipped_at, delivered_at, n)
),
stored_shipments as (
    select s.id from ord join shipments s on s.order_id = ord.id
),
shipments_added as (
    insert into shipments (id, order_id, position, carrier, tracking_number, shipped_at,
                           delivered_at)
    select r.* from shipment_rows r
     where r.id not in (select id from stored_shipments)
),
shipments_changed as (
    update shipments s
       set delivered_at = r.delivered_at
      from ord, shipment_rows r
     where s.order_id = ord.id and s.id = r.id
       and s.delivered_at is distinct from r.delivered_at
),
shipment_lines_added as (
    insert into shipment_lines (shipment_id, position, line_id, quantity)
    select l.shipment_id, l.position, l.line_id, l.quantity
      from ord, input,
           unnest(input.shipment_line_shipment_id, input.shipment_line_position,
                  input.shipment_line_line_id, input.shipment_line_quantity)
           as l(shipment_id, position, line_id, quantity)
     where l.shipment_id not in (select id from stored_shipments)
),
