-- Citizen orders, FEFO reservations, pick waves, pick tasks and their confirmations.
-- A stock unit's `reserved` packs are promised to orders: moves, scraps and other allocations
-- may only take the free rest (qty - reserved). A check constraint keeps that invariant in the database.

alter table stock_units add column reserved bigint not null default 0;

alter table stock_units add constraint stock_units_reserved_range check (reserved >= 0 and reserved <= qty);

create table orders (
    id bigint generated always as identity primary key,
    external_id text not null unique,
    request_hash text not null,
    status text not null,
    payer_code text not null,
    payer_name text not null,
    payer_ean text not null,
    grant_ref text not null,
    citizen_id text not null,
    recipient_name text not null,
    address_line1 text not null,
    address_line2 text,
    postcode text not null,
    city text not null,
    country text not null,
    phone text,
    email text,
    delivery_date text not null,
    has_cut bigint not null,
    partial_release bigint not null default 0,
    missing text,
    wave_id bigint,
    tote text,
    version bigint not null default 1,
    created_by text not null,
    created_at text not null,
    updated_at text not null
);
create index orders_status on orders(status, id);
create index orders_citizen on orders(citizen_id);
create index orders_wave on orders(wave_id);

create table order_lines (
    id bigint generated always as identity primary key,
    order_id bigint not null references orders(id),
    line_no bigint not null,
    gtin text not null references products(gtin),
    quantity bigint not null check (quantity > 0),
    cut_shape text,
    cut_a_mm bigint,
    cut_b_mm bigint,
    cut_template text,
    cut_template_version bigint,
    cut_measured_on text,
    picked bigint not null default 0,
    unique (order_id, line_no)
);
create index order_lines_gtin on order_lines(gtin);

create table reservations (
    id bigint generated always as identity primary key,
    order_id bigint not null references orders(id),
    line_id bigint not null references order_lines(id),
    stock_unit_id bigint not null references stock_units(id),
    qty bigint not null check (qty >= 0),
    created_at text not null
);
create index reservations_order on reservations(order_id);
create index reservations_unit on reservations(stock_unit_id);
create index reservations_line on reservations(line_id, stock_unit_id);

create table waves (
    id bigint generated always as identity primary key,
    status text not null,
    picker text,
    station text,
    max_orders bigint,
    max_lines bigint,
    created_by text not null,
    created_at text not null,
    started_at text,
    done_at text
);
create index waves_status on waves(status, id);

create table picks (
    id bigint generated always as identity primary key,
    wave_id bigint not null references waves(id),
    order_id bigint not null references orders(id),
    line_id bigint not null references order_lines(id),
    reservation_id bigint not null references reservations(id),
    seq bigint not null,
    walk_seq bigint not null,
    location text not null,
    stock_unit_id bigint not null references stock_units(id),
    gtin text not null,
    lot text not null,
    expiry text not null,
    tote text not null,
    quantity bigint not null,
    picked bigint not null default 0,
    status text not null,
    location_ok bigint not null default 0
);
create index picks_wave on picks(wave_id, status, seq);

-- Every confirmed quantity (a stock move to the tote) and its undo; `scan_key` is idempotent.
create table pick_confirms (
    id bigint generated always as identity primary key,
    wave_id bigint not null references waves(id),
    pick_id bigint not null references picks(id),
    scan_key text not null unique,
    from_unit bigint not null references stock_units(id),
    to_unit bigint not null references stock_units(id),
    qty bigint not null,
    op_id bigint not null references stock_ops(id),
    undone bigint not null default 0,
    actor text not null,
    at text not null
);
create index pick_confirms_wave on pick_confirms(wave_id, id);

create table pick_exceptions (
    id bigint generated always as identity primary key,
    wave_id bigint not null references waves(id),
    pick_id bigint not null references picks(id),
    order_id bigint not null references orders(id),
    kind text not null,
    location text not null,
    gtin text not null,
    expected bigint not null,
    found bigint not null,
    reallocated bigint not null,
    note text,
    actor text not null,
    at text not null
);
create index pick_exceptions_wave on pick_exceptions(wave_id);
