-- Returns: a citizen's parcel that comes back is scanned in; its packs go into quarantine at the
-- returns location, owned by the payer (they were the payer's since packing), never back into
-- pickable stock. One return per parcel; a repeated scan answers the same return.
create table parcel_returns (
    id integer primary key autoincrement,
    parcel_id integer not null unique references parcels (id),
    scan_id text not null unique,
    op_id integer not null,
    location text not null,
    packs integer not null,
    returned_by text not null,
    returned_at text not null
);
-- The returns shelf, a quarantine location (another can be configured as carrier.returns_location).
insert into locations (code, zone, kind, walk_seq, created_at)
values ('RETUR', 'RETUR', 'quarantine', 0, '2026-12-03T00:00:00.000000Z') on conflict (code) do nothing;
