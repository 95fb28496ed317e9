-- The workflow each station runs; a station without a row runs `lookup`.
create table stations (
    station text primary key,
    workflow text not null,
    updated_at text not null
);
