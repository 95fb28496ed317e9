-- Facts about this database itself (not configuration), one row per key. `demo_data` is written
-- before demo data (users with known passwords) is loaded: every page then shows the demo band,
-- also after a restart, and demo data is never loaded a second time.
create table instance_meta (
    key text primary key,
    value text not null,
    set_at text not null
);
