-- Citizen orders, FEFO reservations, pick waves, pick tasks and their confirmations.
-- A stock unit's `reserved` packs are promised to orders: moves, scraps and other allocations
-- may only take the free rest (qty - reserved). The triggers keep that invariant in the database.

alter table stock_units add column reserved integer not null default 0;

create trigger stock_units_reserved_insert before insert on stock_units
when new.reserved < 0 or new.reserved > new.qty
begin select raise(abort, 'stock_units.reserved must be between 0 and qty'); end;
create trigger stock_units_reserved_update before update on stock_units
when new.reserved < 0 or new.reserved > new.qty
begin select raise(abort, 'stock_units.reserved must be between 0 and qty'); end;

create table orders (
    id integer primary key autoincrement,
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
    has_cut integer not null,
    partial_release integer not null default 0,
    missing text,
    wave_id integer,
    tote text,
    version integer not null default 1,
    created_by text not null,
    created_at text not null,
    updated_at text not null
);
create index orders_status on orders(status, id);
create index orders_citizen on orders(citizen_id);
create index orders_wave on orders(wave_id);

create table order_lines (
    id integer primary key autoincrement,
    order_id integer not null references orders(id),
    line_no integer not null,
    gtin text not null references products(gtin),
    quantity integer not null check (quantity > 0),
    cut_shape text,
    cut_a_mm integer,
    cut_b_mm integer,
    cut_template text,
    cut_template_version integer,
    cut_measured_on text,
    picked integer not null default 0,
    unique (order_id, line_no)
);
create index order_lines_gtin on order_lines(gtin);

create table reservations (
    id integer primary key autoincrement,
    order_id integer not null references orders(id),
    line_id integer not null references order_lines(id),
    stock_unit_id integer not null references stock_units(id),
    qty integer not null check (qty >= 0),
    created_at text not null
);
create index reservations_order on reservations(order_id);
create index reservations_unit on reservations(stock_unit_id);
create index reservations_line on reservations(line_id, stock_unit_id);

create table waves (
    id integer primary key autoincrement,
    status text not null,
    picker text,
    station text,
    max_orders integer,
    max_lines integer,
    created_by text not null,
    created_at text not null,
    started_at text,
    done_at text
);
create index waves_status on waves(status, id);

create table picks (
    id integer primary key autoincrement,
    wave_id integer not null references waves(id),
    order_id integer not null references orders(id),
    line_id integer not null references order_lines(id),
    reservation_id integer not null references reservations(id),
    seq integer not null,
    walk_seq integer not null,
    location text not null,
    stock_unit_id integer not null references stock_units(id),
    gtin text not null,
    lot text not null,
    expiry text not null,
    tote text not null,
    quantity integer not null,
    picked integer not null default 0,
    status text not null,
    location_ok integer not null default 0
);
create index picks_wave on picks(wave_id, status, seq);

-- Every confirmed quantity (a stock move to the tote) and its undo; `scan_key` is idempotent.
create table pick_confirms (
    id integer primary key autoincrement,
    wave_id integer not null references waves(id),
    pick_id integer not null references picks(id),
    scan_key text not null unique,
    from_unit integer not null references stock_units(id),
    to_unit integer not null references stock_units(id),
    qty integer not null,
    op_id integer not null references stock_ops(id),
    undone integer not null default 0,
    actor text not null,
    at text not null
);
create index pick_confirms_wave on pick_confirms(wave_id, id);

create table pick_exceptions (
    id integer primary key autoincrement,
    wave_id integer not null references waves(id),
    pick_id integer not null references picks(id),
    order_id integer not null references orders(id),
    kind text not null,
    location text not null,
    gtin text not null,
    expected integer not null,
    found integer not null,
    reallocated integer not null,
    note text,
    actor text not null,
    at text not null
);
create index pick_exceptions_wave on pick_exceptions(wave_id);
