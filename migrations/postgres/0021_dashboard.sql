-- The lead's dashboard counts orders per status and finds the oldest in each: one index serves
-- both (the count and the minimum come from the index alone).
create index orders_status_updated on orders(status, updated_at);
