-- A year of history (issue 19): parcels closed and not yet handed over, per carrier (the
-- cut-off), are read from an index instead of from every parcel ever closed.
create index parcels_booking_state on parcels(booking_state, state);
-- Packs picked per hour come from the index alone (it replaces the one on `at`, so a pick
-- confirmation writes no more index entries than before).
drop index pick_confirms_at;
create index pick_confirms_at_qty on pick_confirms(at, undone, qty);
