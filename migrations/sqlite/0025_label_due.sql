-- The booking worker asks every poll which booked parcels' carrier labels are not printed yet.
-- A booking stays `booked` for good, so on a year of history that read every booking ever made
-- (708,000 rows: 0.2 s alone, more than a second beside the service's work, every poll). This
-- index holds only the few waiting (SQLite's planner takes it for `state = 'booked'` with the
-- rest of the condition implied; an index on `id` alone it passed over).
create index bookings_label_due on bookings(state, id)
    where carrier_label is not null and label_job is null;
