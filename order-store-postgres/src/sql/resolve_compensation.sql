-- Resolves one compensation; the first resolution stays (`coalesce` keeps
-- it whole), and the entry comes back as stored. No row: unknown id.
update compensations
   set resolved_by     = coalesce(resolved_by, $2::text),
       resolution_note = case when resolved_by is null then $4::text else resolution_note end,
       resolved_at     = coalesce(resolved_at, $3::timestamptz)
 where compensation_id = $1::uuid
returning compensation_id, order_id, step, amount, currency, detail, at,
          resolved_by, resolved_at, resolution_note
