-- Carrier bookings grow what PostNord answers (booking id, tracking URL, its own label and the
-- print job that printed it) and the additional services the rule table chose; tracking events
-- (pulled or pushed) are kept once each, and every pushed message is logged, refused or not.
alter table bookings add column additional text not null default '';
alter table bookings add column booking_ref text;
alter table bookings add column tracking_url text;
alter table bookings add column label_job text;
-- The latest tracking status in konsign's words, when it was last pulled, and a lead's
-- acknowledgement of an exception.
alter table bookings add column tracking_status text;
alter table bookings add column tracked_at text;
alter table bookings add column exception_ack_by text;
alter table bookings add column exception_ack_at text;

create table tracking_events (
    id integer primary key autoincrement,
    booking_id integer not null references bookings (id),
    parcel_id integer not null references parcels (id),
    carrier text not null,
    code text not null,
    raw_status text not null,
    -- booked, in_transit, out_for_delivery, delivered, failed_attempt, returned, exception
    status text not null,
    text text not null,
    location text,
    at text not null,
    -- pull or push
    source text not null,
    received_at text not null,
    unique (carrier, parcel_id, code, at)
);
create index tracking_events_parcel on tracking_events (parcel_id, at);

create table carrier_pushes (
    id integer primary key autoincrement,
    carrier text not null,
    received_at text not null,
    -- accepted, or why it was refused
    outcome text not null,
    events integer not null,
    detail text not null
);
