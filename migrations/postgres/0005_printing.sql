-- Label printers (raw TCP, ZPL) and their persistent job queues.
create table printers (
    id text primary key,
    name text not null,
    host text not null,
    port bigint not null check (port between 1 and 65535),
    dpi bigint not null check (dpi in (203, 300)),
    label_width_mm double precision not null,
    label_height_mm double precision not null,
    -- The station the printer serves (packing-1, hulklip-2, ...), if any.
    station text,
    enabled bigint not null default 1 check (enabled in (0, 1)),
    -- What the last status query found: ready, paper_out, paused, head_open, ribbon_out,
    -- buffer_full, fault, no_answer, unreachable, disabled, unknown.
    state text not null default 'unknown',
    state_detail text not null default '',
    state_at text not null,
    -- The konsign instance that runs this printer's queue, and until when (a lease).
    owner text,
    lease_until text,
    updated_at text not null
);

-- One row per label to print. queued -> sending -> sent -> confirmed | failed; a reprint is a
-- new job with reprint_of set. Never resent automatically once bytes were written.
create table print_jobs (
    seq bigint generated always as identity primary key,
    id text not null unique,
    printer_id text not null references printers (id),
    template text not null,
    -- The rendered ZPL: what was (or will be) sent, byte for byte.
    payload text not null,
    state text not null check (state in ('queued', 'sending', 'sent', 'confirmed', 'failed')),
    attempts bigint not null default 0,
    error text,
    reprint_of text,
    -- The caller's idempotency key: the same key gives the same job.
    request_key text unique,
    -- What the label is for (order, parcel, cut job), for people following it.
    subject text,
    requested_by text not null,
    created_at text not null,
    updated_at text not null,
    next_attempt_at text not null
);
create index print_jobs_queue on print_jobs (printer_id, state, seq);

-- Every transition of every job.
create table print_job_log (
    id bigint generated always as identity primary key,
    job_id text not null references print_jobs (id),
    state text not null,
    detail text not null,
    at text not null
);
create index print_job_log_job on print_job_log (job_id, id);
