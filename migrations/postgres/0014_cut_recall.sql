-- Hulklip: no plate cut twice, no job stuck.
-- Event sequence numbers a station sent above its contiguous floor (cut_stations.last_event_seq,
-- now "every event at or below it is handled or written off"): a gap below one of them is an
-- event still on its way or lost.
create table cut_event_seqs (
    station_id text not null references cut_stations (id),
    seq bigint not null,
    primary key (station_id, seq)
);
-- The highest sequence number seen in an event or reported by a state.
alter table cut_stations add column top_event_seq bigint not null default 0;
-- Since when events have been missing (null: none).
alter table cut_stations add column gap_since text;
-- The station answered queue_full: it gets no job until a state shows room.
alter table cut_stations add column is_full bigint not null default 0;
-- A critical or fatal failure event's seq: unavailable until a state at or past it says so.
alter table cut_stations add column fault_seq bigint;
-- A station without a machine link: the operator's buttons decide its jobs.
alter table cut_stations add column manual bigint not null default 0;
-- A manual station's queue limit (a station with a link says its own in its factsheet).
alter table cut_stations add column queue_limit bigint not null default 3;
-- A job being recalled (a lead's re-queue): the cancel's cmd_id, and why.
alter table cut_jobs add column recall_cmd text;
alter table cut_jobs add column recall_reason text;
-- A job can be `recalling`: taken back by a lead, waiting for its station's answer.
alter table cut_jobs drop constraint cut_jobs_state_check;
alter table cut_jobs add constraint cut_jobs_state_check
    check (state in ('queued', 'sent', 'accepted', 'running', 'recalling', 'finished', 'failed', 'cancelled'));
