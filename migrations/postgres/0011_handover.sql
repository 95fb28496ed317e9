-- Handover: a cage (or trailer) per carrier, the parcels scanned onto it (each once, on one
-- cage), and the scans it refused (shown when the cage closes).
create table cages (
    id bigint generated always as identity primary key,
    code text not null unique,
    carrier text not null,
    day text not null,
    state text not null check (state in ('open', 'closed')),
    list_job text,
    opened_by text not null,
    opened_at text not null,
    closed_by text,
    closed_at text
);
create index cages_state on cages (state, carrier);

create table cage_parcels (
    id bigint generated always as identity primary key,
    cage_id bigint not null references cages (id),
    parcel_id bigint not null unique references parcels (id),
    scan_key text not null unique,
    actor text not null,
    at text not null
);
create index cage_parcels_cage on cage_parcels (cage_id);

create table cage_refusals (
    id bigint generated always as identity primary key,
    cage_id bigint not null references cages (id),
    scanned text not null,
    code text not null,
    message text not null,
    message_da text not null,
    actor text not null,
    at text not null
);
create index cage_refusals_cage on cage_refusals (cage_id);
