-- The compensation log gets the id the engine mints for each entry (a UUID
-- v7) and an operator's resolution: who, when, and what they did. Entries
-- logged before this carry an id made from their row id (a valid v7 of
-- time zero), so every entry can be resolved.
alter table compensations add column compensation_id text;
alter table compensations add column resolved_by text;
alter table compensations add column resolved_at text;
alter table compensations add column resolution_note text;

update compensations
   set compensation_id = '00000000-0000-7000-8000-' || printf('%012x', id);

create unique index compensations_compensation_id on compensations (compensation_id);
