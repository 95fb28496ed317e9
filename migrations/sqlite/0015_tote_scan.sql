-- The picker confirms an order's tote by scanning it before the order's first pack goes in
-- (picking.require_tote_scan): set on every pick of that order in the wave.
alter table picks add column tote_ok integer not null default 0;
