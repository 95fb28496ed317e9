-- Hulklip: no plate cut twice, no job stuck.
-- Event sequence numbers a station sent above its contiguous floor (cut_stations.last_event_seq,
-- now "every event at or below it is handled or written off"): a gap below one of them is an
-- event still on its way or lost.
create table cut_event_seqs (
    station_id text not null references cut_stations (id),
    seq integer not null,
    primary key (station_id, seq)
);
-- The highest sequence number seen in an event or reported by a state.
alter table cut_stations add column top_event_seq integer not null default 0;
-- Since when events have been missing (null: none).
alter table cut_stations add column gap_since text;
-- The station answered queue_full: it gets no job until a state shows room.
alter table cut_stations add column is_full integer not null default 0;
-- A critical or fatal failure event's seq: unavailable until a state at or past it says so.
alter table cut_stations add column fault_seq integer;
-- A station without a machine link: the operator's buttons decide its jobs.
alter table cut_stations add column manual integer not null default 0;
-- A manual station's queue limit (a station with a link says its own in its factsheet).
alter table cut_stations add column queue_limit integer not null default 3;
-- A job being recalled (a lead's re-queue): the cancel's cmd_id, and why.
-- A job can be `recalling`: taken back by a lead, waiting for its station's answer; and it
-- remembers the recall's cancel and reason.
-- SQLite cannot change a CHECK constraint: cut_jobs is rebuilt, and with it the two tables that
-- refer to it (renaming a table moves their references to the new name, so they are rebuilt
-- to refer to the new cut_jobs), all inside the migration's transaction.
alter table cut_jobs rename to cut_jobs_old;
drop index cut_jobs_state;
drop index cut_jobs_order;
create table cut_jobs (
    seq integer primary key autoincrement,
    id text not null unique,
    order_id integer not null references orders (id),
    line_id integer not null references order_lines (id),
    revision integer not null default 1,
    content_hash text not null,
    line_ref text not null,
    gtin text not null,
    lot text not null,
    expiry text not null,
    quantity integer not null check (quantity > 0),
    shape text not null,
    tolerance_mm real not null,
    sticker text not null,
    state text not null check (state in ('queued', 'sent', 'accepted', 'running', 'recalling', 'finished', 'failed', 'cancelled')),
    station_id text references cut_stations (id),
    message_id text,
    sends integer not null default 0,
    next_send_at text,
    done integer not null default 0,
    rejected_by text not null default '',
    reason text,
    sticker_job text,
    created_at text not null,
    updated_at text not null,
    follows text,
    recall_cmd text,
    recall_reason text
);
insert into cut_jobs (seq, id, order_id, line_id, revision, content_hash, line_ref, gtin, lot, expiry, quantity, shape, tolerance_mm, sticker, state, station_id, message_id, sends, next_send_at, done, rejected_by, reason, sticker_job, created_at, updated_at, follows) select seq, id, order_id, line_id, revision, content_hash, line_ref, gtin, lot, expiry, quantity, shape, tolerance_mm, sticker, state, station_id, message_id, sends, next_send_at, done, rejected_by, reason, sticker_job, created_at, updated_at, follows from cut_jobs_old;
create index cut_jobs_state on cut_jobs (state, seq);
create index cut_jobs_order on cut_jobs (order_id);

alter table cut_job_log rename to cut_job_log_old;
drop index cut_job_log_job;
create table cut_job_log (
    id integer primary key autoincrement,
    job_id text not null references cut_jobs (id),
    state text not null,
    station_id text,
    detail text not null,
    at text not null
);
insert into cut_job_log (id, job_id, state, station_id, detail, at)
    select id, job_id, state, station_id, detail, at from cut_job_log_old;
create index cut_job_log_job on cut_job_log (job_id, id);
drop table cut_job_log_old;

alter table cut_replacements rename to cut_replacements_old;
drop index cut_replacements_wave;
drop index cut_replacements_order;
create table cut_replacements (
    id integer primary key autoincrement,
    job_id text not null references cut_jobs (id),
    revision integer not null,
    order_id integer not null references orders (id),
    line_id integer not null references order_lines (id),
    gtin text not null,
    lot text not null,
    quantity integer not null check (quantity > 0),
    reason text not null,
    state text not null check (state in ('picking', 'short', 'picked')),
    wave_id integer references waves (id),
    new_job_id text,
    created_at text not null,
    updated_at text not null,
    unique (job_id, revision)
);
insert into cut_replacements (id, job_id, revision, order_id, line_id, gtin, lot, quantity, reason, state, wave_id, new_job_id, created_at, updated_at)
    select id, job_id, revision, order_id, line_id, gtin, lot, quantity, reason, state, wave_id, new_job_id, created_at, updated_at from cut_replacements_old;
create index cut_replacements_wave on cut_replacements (wave_id);
create index cut_replacements_order on cut_replacements (order_id, state);
drop table cut_replacements_old;

drop table cut_jobs_old;
