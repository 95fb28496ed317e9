-- Cutting jobs: one per picked cut-to-fit order line and plate lot. queued -> sent -> accepted
-- -> running -> finished | failed | cancelled; a rejection takes a job back to queued.
create table cut_jobs (
    seq bigint generated always as identity primary key,
    id text not null unique,
    order_id bigint not null references orders (id),
    line_id bigint not null references order_lines (id),
    revision bigint not null default 1,
    content_hash text not null,
    -- Pseudonymous: nothing on the wire names the citizen.
    line_ref text not null,
    gtin text not null,
    lot text not null,
    expiry text not null,
    quantity bigint not null check (quantity > 0),
    -- The shape (JSON, the protocol's form), its tolerance, and the sticker's fields (JSON).
    shape text not null,
    tolerance_mm double precision not null,
    sticker text not null,
    state text not null check (state in ('queued', 'sent', 'accepted', 'running', 'finished', 'failed', 'cancelled')),
    station_id text references cut_stations (id),
    -- The message id of the job as last published (a re-send keeps it).
    message_id text,
    sends bigint not null default 0,
    next_send_at text,
    done bigint not null default 0,
    -- Stations that refused it, space-separated: not chosen for it again.
    rejected_by text not null default '',
    reason text,
    sticker_job text,
    created_at text not null,
    updated_at text not null
);
create index cut_jobs_state on cut_jobs (state, seq);
create index cut_jobs_order on cut_jobs (order_id);

create table cut_job_log (
    id bigint generated always as identity primary key,
    job_id text not null references cut_jobs (id),
    state text not null,
    station_id text,
    detail text not null,
    at text not null
);
create index cut_job_log_job on cut_job_log (job_id, id);
