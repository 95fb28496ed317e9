-- Serial barcode scanners (managed at run time) and every scan they sent, with its verdict.

create table scanners (
    id text primary key,
    station text not null,
    config text not null,
    updated_at text not null
);

create table scans (
    id bigint generated always as identity primary key,
    scanner_id text not null,
    station text not null,
    raw_hex text not null,
    kind text,
    parsed text,
    used_for text not null,
    outcome text not null,
    message text not null,
    at text not null
);
create index scans_station on scans(station, id);
create index scans_scanner on scans(scanner_id, id);
