-- The service spine: users, sessions, tokens, events, audit; the catalog; consignment stock.
-- Instants are text in UTC, fixed width ('2026-11-22T07:46:28.123456Z'); dates are 'YYYY-MM-DD'.
-- Booleans are integers 0/1 so the same queries run on SQLite and PostgreSQL.

create table users (
    id integer primary key autoincrement,
    username text not null unique,
    role text not null,
    password_hash text not null,
    failed_logins integer not null default 0,
    locked_until text,
    disabled integer not null default 0,
    created_at text not null
);

create table sessions (
    id_hash text primary key,
    user_id integer not null references users(id),
    csrf_token text not null,
    created_at text not null,
    expires_at text not null
);
create index sessions_user on sessions(user_id);

create table api_tokens (
    id integer primary key autoincrement,
    name text not null unique,
    role text not null,
    token_hash text not null unique,
    created_by text not null,
    created_at text not null,
    revoked_at text
);

create table events (
    id integer primary key autoincrement,
    event_type text not null,
    subject text not null,
    at text not null,
    payload text not null
);
create index events_subject on events(subject);

create table audit_log (
    id integer primary key autoincrement,
    at text not null,
    actor text not null,
    action text not null,
    subject text not null,
    purpose text,
    detail text not null default '{}'
);
create index audit_actor on audit_log(actor, at);
create index audit_subject on audit_log(subject, at);
create index audit_at on audit_log(at);

create table producers (
    code text primary key,
    name text not null,
    created_at text not null
);

create table products (
    gtin text primary key,
    name text not null,
    producer text not null references producers(code),
    category text not null,
    units_per_pack integer not null,
    price_minor integer not null,
    currency text not null,
    cut_to_fit integer not null,
    cut_min_mm integer,
    cut_max_mm integer,
    cut_round integer not null default 0,
    cut_oval integer not null default 0,
    min_shelf_life_days integer not null,
    created_at text not null,
    updated_at text not null
);
create index products_producer on products(producer);

create table locations (
    code text primary key,
    zone text not null,
    kind text not null,
    walk_seq integer not null,
    created_at text not null
);

create table stock_units (
    id integer primary key autoincrement,
    gtin text not null references products(gtin),
    lot text not null,
    expiry text not null,
    location text not null references locations(code),
    owner text not null,
    status text not null,
    qty integer not null check (qty >= 0),
    updated_at text not null,
    unique (gtin, lot, expiry, location, owner, status)
);
create index stock_units_location on stock_units(location);
create index stock_units_owner on stock_units(owner);
create index stock_units_expiry on stock_units(expiry);

create table stock_ops (
    id integer primary key autoincrement,
    kind text not null,
    idempotency_key text unique,
    request_hash text not null,
    actor text not null,
    at text not null
);

create table ledger (
    id integer primary key autoincrement,
    op_id integer not null references stock_ops(id),
    stock_unit_id integer not null references stock_units(id),
    kind text not null,
    gtin text not null,
    owner text not null,
    location text not null,
    delta integer not null,
    qty_before integer not null,
    qty_after integer not null,
    reason text,
    reference text,
    actor text not null,
    at text not null
);
create index ledger_unit on ledger(stock_unit_id, id);
create index ledger_owner_at on ledger(owner, at);
create index ledger_op on ledger(op_id);

-- The audit log and the ledger are append-only: the database itself refuses edits.
create trigger audit_log_no_update before update on audit_log
begin select raise(abort, 'audit_log is append-only'); end;
create trigger audit_log_no_delete before delete on audit_log
begin select raise(abort, 'audit_log is append-only'); end;
create trigger ledger_no_update before update on ledger
begin select raise(abort, 'ledger is append-only'); end;
create trigger ledger_no_delete before delete on ledger
begin select raise(abort, 'ledger is append-only'); end;
