-- Packing: parcels proven by scanning, SSCCs that are never reused, the ownership transfer of
-- every packed lot from producer to payer, and lots blocked after picking.

-- Grams per pack, for the parcel weight; null when the producer has not given it.
alter table products add column weight_g bigint check (weight_g is null or weight_g between 0 and 100000);

-- One counter per SSCC prefix (extension digit + GS1 company prefix); it only ever moves up, in
-- the transaction that closes a parcel, so no serial is handed out twice.
create table sscc_counters (
    prefix text primary key,
    next_serial bigint not null check (next_serial >= 0)
);

-- A parcel: open while the packer fills it, closed with its SSCC, voided before handover.
create table parcels (
    id bigint generated always as identity primary key,
    order_id bigint not null references orders (id),
    -- n of the order's parcels, counted when it closes.
    seq bigint,
    state text not null check (state in ('open', 'closed', 'voided')),
    station text not null,
    tote text not null,
    sscc text unique,
    parcel_type text,
    weight_g bigint,
    -- computed (products + tare) or scale
    weight_source text,
    -- m: how many parcels the order left in, set when its last parcel closes.
    parcels_total bigint,
    label_job text,
    slip_job text,
    -- The carrier booking: a closed parcel waits for it, is booked (or rejected), or is void.
    booking_state text not null default 'none' check (booking_state in ('none', 'waiting', 'booked', 'rejected', 'handed_over', 'void')),
    void_reason text,
    close_key text unique,
    opened_by text not null,
    opened_at text not null,
    closed_by text,
    closed_at text,
    voided_by text,
    voided_at text
);
create index parcels_order on parcels (order_id, state);
create index parcels_state on parcels (state, closed_at);

-- What was scanned into a parcel; a scan id is taken once.
create table parcel_items (
    id bigint generated always as identity primary key,
    parcel_id bigint not null references parcels (id),
    order_id bigint not null references orders (id),
    scan_key text not null unique,
    gtin text not null,
    lot text not null,
    expiry text not null,
    quantity bigint not null check (quantity > 0),
    cut_job text,
    actor text not null,
    at text not null
);
create index parcel_items_parcel on parcel_items (parcel_id);

-- One row per lot whose ownership passed to the payer when a parcel closed (quantity > 0), or
-- came back when it was voided (quantity < 0). The producers' consumption is summed from here.
create table ownership_transfers (
    id bigint generated always as identity primary key,
    op_id bigint not null references stock_ops (id),
    parcel_id bigint not null references parcels (id),
    order_id bigint not null references orders (id),
    sscc text not null,
    gtin text not null,
    lot text not null,
    expiry text not null,
    quantity bigint not null check (quantity <> 0),
    producer text not null,
    payer text not null,
    at text not null
);
create index ownership_transfers_parcel on ownership_transfers (parcel_id);
create index ownership_transfers_producer on ownership_transfers (producer, at);
create index ownership_transfers_lot on ownership_transfers (gtin, lot);

-- Which order a pack station is packing: the page and a serial scanner bound to the station
-- share it.
create table pack_sessions (
    station text primary key,
    order_id bigint not null references orders (id),
    actor text not null,
    at text not null
);

-- A pack found damaged at packing: scrapped from the tote and picked again.
create table pack_shorts (
    id bigint generated always as identity primary key,
    order_id bigint not null references orders (id),
    line_id bigint not null references order_lines (id),
    gtin text not null,
    lot text not null,
    quantity bigint not null check (quantity > 0),
    reason text not null,
    -- picking (a replacement wave is out) or short (no stock: a lead must act)
    state text not null check (state in ('picking', 'short')),
    wave_id bigint references waves (id),
    request_key text unique,
    actor text not null,
    at text not null
);
create index pack_shorts_order on pack_shorts (order_id);

-- A lot stopped from leaving (recall, quarantine of the whole lot); released by a lead.
create table lot_blocks (
    id bigint generated always as identity primary key,
    gtin text not null,
    lot text not null,
    reason text not null,
    blocked_by text not null,
    blocked_at text not null,
    released_by text,
    released_at text
);
create index lot_blocks_lot on lot_blocks (gtin, lot);

-- A printer is a label printer (ZPL, status by `~HS`) or a document printer (a PDF in a PJL job,
-- status by `@PJL INFO STATUS`), both on a raw socket.
alter table printers add column kind text not null default 'zpl' check (kind in ('zpl', 'pdf'));
-- A job's payload as sent: text (ZPL), or base64 of a document's bytes.
alter table print_jobs add column encoding text not null default 'text' check (encoding in ('text', 'base64'));
