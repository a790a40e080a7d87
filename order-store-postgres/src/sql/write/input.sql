-- The values of a write of one change to an order (`PgOrderStore::commit`),
-- the start of its statement. One statement, so one round trip and one
-- transaction: all of it or none of it. It goes on with `insert.sql` (a new
-- order) or `update.sql` (a stored one), then only the parts the change
-- needs: `*_shipments.sql` and `*_returns.sql` (an order that has any),
-- `history.sql`, `payments.sql`, `events.sql`, `key.sql`, `inbound.sql`, the
-- stock effect (`../stock/*.sql`), and ends with `../written.sql` (see
-- `sql.rs`, which joins them).
--
-- Each text is fixed: sqlx prepares it once per connection and every change
-- of that shape reuses it; only the values change. Each value is bound once,
-- as a typed scalar or array (one array per child column, unnested where it
-- is written), and named here (`write.rs` binds them in this order); a part
-- a text leaves out leaves its values unread.
with input as (
    select
        -- The order row.
        $1::uuid            as id,
        $2::text            as number,
        $3::uuid            as customer_id,
        $4::text            as currency,
        $5::text            as status,
        $6::text            as payment_status,
        $7::numeric         as subtotal,
        $8::numeric         as discount,
        $9::numeric         as tax,
        $10::numeric        as shipping,
        $11::numeric        as total,
        $12::jsonb          as shipping_address,
        $13::jsonb          as billing_address,
        $14::text           as shipping_method,
        $15::text           as coupon_code,
        $16::jsonb          as discount_rule,
        $17::text           as notes,
        $18::jsonb          as pricing,
        $19::jsonb          as reservation,
        $20::integer        as payment_attempts,
        $21::text           as cancellation_reason,
        $22::text           as cancelled_by,
        $23::bigint         as version,
        $24::timestamptz    as created_at,
        $25::timestamptz    as updated_at,
        $26::timestamptz    as confirmed_at,
        $27::timestamptz    as cancelled_at,
        $28::timestamptz    as delivered_at,
        $29::timestamptz    as completed_at,
        -- The write's conditions: the version the change was decided against
        -- (0: a new order); the idempotency key it completes (it must still
        -- be in flight); the inbound event it processes (once).
        $30::bigint         as expected_version,
        $31::text           as idempotency_key,
        $32::text           as inbound_event,
        -- Every line, by position.
        $33::uuid[]         as line_id,
        $34::uuid[]         as line_product_id,
        $35::uuid[]         as line_variant_id,
        $36::text[]         as line_sku,
        $37::text[]         as line_name,
        $38::text[]         as line_kind,
        $39::text[]         as line_tax_class,
        $40::numeric[]      as line_tax_rate,
        $41::integer[]      as line_quantity,
        $42::numeric[]      as line_unit_price,
        $43::numeric[]      as line_subtotal,
        $44::numeric[]      as line_discount,
        $45::numeric[]      as line_tax,
        $46::numeric[]      as line_total,
        $47::integer[]      as line_ordered,
        $48::integer[]      as line_cancelled,
        $49::integer[]      as line_shipped,
        $50::integer[]      as line_delivered,
        $51::integer[]      as line_returned,
        $52::integer[]      as line_return_requested,
        -- Every shipment, by position, and all their lines (each naming its
        -- shipment and its position in it).
        $53::uuid[]         as shipment_id,
        $54::text[]         as shipment_carrier,
        $55::text[]         as shipment_tracking_number,
        $56::timestamptz[]  as shipment_shipped_at,
        $57::timestamptz[]  as shipment_delivered_at,
        $58::uuid[]         as shipment_line_shipment_id,
        $59::integer[]      as shipment_line_position,
        $60::uuid[]         as shipment_line_line_id,
        $61::integer[]      as shipment_line_quantity,
        -- Every return, by position, and all their lines.
        $62::uuid[]         as return_id,
        $63::text[]         as return_reason,
        $64::numeric[]      as return_refund_amount,
        $65::timestamptz[]  as return_requested_at,
        $66::timestamptz[]  as return_received_at,
        $67::uuid[]         as return_line_return_id,
        $68::integer[]      as return_line_position,
        $69::uuid[]         as return_line_line_id,
        $70::integer[]      as return_line_quantity,
        -- The change's new status history entries.
        $71::bigint[]       as history_sequence,
        $72::text[]         as history_from_status,
        $73::text[]         as history_to_status,
        $74::text[]         as history_reason,
        $75::text[]         as history_actor,
        $76::timestamptz[]  as history_at,
        -- The change's new payment ledger entries, with their positions.
        $77::uuid[]         as payment_id,
        $78::integer[]      as payment_position,
        $79::text[]         as payment_kind,
        $80::numeric[]      as payment_amount,
        $81::text[]         as payment_reference,
        $82::text[]         as payment_idempotency_key,
        $83::text[]         as payment_reason,
        $84::uuid[]         as payment_return_id,
        $85::timestamptz[]  as payment_at,
        -- The change's events.
        $86::uuid[]         as event_id,
        $87::bigint[]       as event_sequence,
        $88::text[]         as event_type,
        $89::timestamptz[]  as event_occurred_at,
        $90::text[]         as event_actor,
        $91::jsonb[]        as event_payload,
        -- The stock effect's values.
        $92::text[]         as stock_sku,
        $93::integer[]      as stock_quantity,
        $94::timestamptz    as reserve_until,
        $95::text           as restock_key,
        -- The order row's columns added since (migrations 0010, 0012),
        -- numbered last so the others keep their numbers.
        $96::text           as payment_method,
        $97::numeric        as captured,
        $98::numeric        as refunded,
        $99::integer        as failed_payment_attempts
),
