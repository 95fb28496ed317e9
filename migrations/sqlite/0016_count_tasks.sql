-- Counting locations: count tasks (from a short pick, a lead's cycle count, or a count made
-- without a task), grouped by the cycle count run that made them. A count closes every open task
-- at its location in the transaction that books its differences.
create table count_runs (
    id integer primary key autoincrement,
    scope text not null,
    title text not null,
    created_by text not null,
    created_at text not null
);

create table count_tasks (
    id integer primary key autoincrement,
    location text not null references locations(code),
    source text not null,
    run_id integer references count_runs(id),
    pick_id integer references picks(id),
    hold_unit_id integer references stock_units(id),
    hold_qty integer not null default 0,
    note text,
    status text not null default 'open',
    created_by text not null,
    created_at text not null,
    op_id integer references stock_ops(id),
    counted_by text,
    counted_at text,
    lines integer,
    difference integer
);
create index count_tasks_open on count_tasks(location) where status = 'open';
create index count_tasks_run on count_tasks(run_id);
create index count_tasks_counted on count_tasks(location, counted_at) where status = 'done';
create index count_tasks_op on count_tasks(op_id);
