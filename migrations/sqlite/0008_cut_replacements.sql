-- What follows a failed cutting job. Its damaged plates are scrapped from the order's tote and
-- picked again (a replacement wave to the same tote); when they are picked, a new job cuts them.
-- Its uncut plates go straight back in the queue as a new job (`cut_jobs.follows`).
alter table cut_jobs add column follows text;

create table cut_replacements (
    id integer primary key autoincrement,
    job_id text not null references cut_jobs (id),
    revision integer not null,
    order_id integer not null references orders (id),
    line_id integer not null references order_lines (id),
    gtin text not null,
    -- The lot of the damaged plates (scrapped), and how many.
    lot text not null,
    quantity integer not null check (quantity > 0),
    reason text not null,
    -- picking (a replacement wave is out), short (no stock to pick: a lead must act),
    -- picked (the new job is made)
    state text not null check (state in ('picking', 'short', 'picked')),
    wave_id integer references waves (id),
    new_job_id text,
    created_at text not null,
    updated_at text not null,
    unique (job_id, revision)
);
create index cut_replacements_wave on cut_replacements (wave_id);
create index cut_replacements_order on cut_replacements (order_id, state);
