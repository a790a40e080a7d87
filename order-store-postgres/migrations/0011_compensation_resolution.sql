-- The compensation log gets the id the engine mints for each entry (a UUID
-- v7) and an operator's resolution: who, when, and what they did. Entries
-- logged before this carry an id made from their serial number (a valid
-- v7 of time zero), so every entry can be resolved.
alter table compensations
    add column compensation_id uuid,
    add column resolved_by     text,
    add column resolved_at     timestamptz,
    add column resolution_note text;

update compensations
   set compensation_id = ('00000000-0000-7000-8000-' || lpad(to_hex(id), 12, '0'))::uuid;

alter table compensations
    alter column compensation_id set not null,
    add constraint compensations_compensation_id_key unique (compensation_id),
    add constraint compensations_resolution_whole
        check ((resolved_by is null) = (resolved_at is null));
