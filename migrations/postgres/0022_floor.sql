-- Refused pick scans, for the lead's dashboard (scans refused per picker). One row per scan id:
-- a retried request is not counted twice.
create table pick_refusals (
    id bigint generated always as identity primary key,
    wave_id bigint not null references waves(id),
    scan_key text not null unique,
    code text not null,
    actor text not null,
    at text not null
);
create index pick_refusals_at on pick_refusals(at);
-- The dashboard's exceptions read today's short picks and each booking state by time.
create index pick_exceptions_at on pick_exceptions(at);
create index bookings_tracking on bookings(tracking_status);
-- Reports count orders received per hour over a range.
create index orders_created_at on orders(created_at);
