-- Carrier bookings: an outbox. Closing a parcel queues its booking in the same transaction; a
-- worker sends it under a lease (so two instances never book one parcel twice), and every
-- attempt is kept with its request id, outcome and timing.
create table bookings (
    id integer primary key autoincrement,
    parcel_id integer not null unique references parcels (id),
    carrier text not null,
    service text not null,
    -- pending (to send), booked, rejected (a lead's queue), cancelled
    state text not null check (state in ('pending', 'booked', 'rejected', 'cancelled')),
    attempts integer not null default 0,
    next_attempt_at text not null,
    -- An earlier attempt may have reached the carrier: look the booking up before sending again.
    look_up_first integer not null default 0,
    tracking_number text,
    label_format text,
    carrier_label text,
    last_error text,
    lease_owner text,
    lease_until text,
    created_at text not null,
    updated_at text not null
);
create index bookings_due on bookings (state, next_attempt_at);

create table booking_attempts (
    id integer primary key autoincrement,
    booking_id integer not null references bookings (id),
    request_id text not null,
    -- booked, found, transient, ambiguous, rejected, unauthorized, partial
    outcome text not null,
    duration_ms integer not null,
    detail text not null,
    at text not null
);
create index booking_attempts_booking on booking_attempts (booking_id, id);
