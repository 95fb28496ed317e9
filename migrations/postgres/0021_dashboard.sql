-- The lead's dashboard counts orders per status and finds the oldest in each: one index serves
-- both (the count and the minimum come from the index alone).
create index orders_status_updated on orders(status, updated_at);
-- Throughput per hour reads a day of each of these by time.
create index pick_confirms_at on pick_confirms(at);
create index cut_job_log_state_at on cut_job_log(state, at);
create index parcels_closed_at on parcels(closed_at);
create index cage_parcels_at on cage_parcels(at);
