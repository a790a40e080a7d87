-- Every change to the catalog notifies `order_catalog`, once per statement,
-- so that catalogs cached in memory (`CachedCatalog`, in any process on
-- this database) forget what they hold. The notification is sent when the
-- changing transaction commits, and not at all if it rolls back.
create function notify_catalog_changed() returns trigger
language plpgsql as $$
begin
    perform pg_notify('order_catalog', '');
    return null;
end
$$;

create trigger products_changed
    after insert or update or delete or truncate on products
    for each statement execute function notify_catalog_changed();
