-- Hulklip cutting stations as konsign knows them: registered by an admin (an unknown station's
-- messages are refused), with what they last said over MQTT.
create table cut_stations (
    id text primary key,
    name text not null,
    -- The printer for the station's cut stickers.
    printer_id text references printers (id),
    enabled bigint not null default 1 check (enabled in (0, 1)),
    -- online, offline, broken (its last will), unknown (never heard from)
    connection text not null default 'unknown',
    connection_at text,
    boot_id text,
    -- The last factsheet and state snapshot, as received (JSON).
    factsheet text,
    state text,
    mode text,
    state_at text,
    -- The highest event sequence number handled: events at or below it are duplicates.
    last_event_seq bigint not null default 0,
    updated_at text not null
);
