-- The figures of a Copenhagen day two or more days past, counted once for the reports
-- (`service::report_days`): JSON of its measures, parcels by hour and cycle times.
create table report_days (
    day text primary key,
    figures text not null,
    sealed_at text not null
);
