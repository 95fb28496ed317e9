-- Station events deduplicated by identity (issue 16, finding 7): each recorded event number
-- keeps the message and the boot it came in, for a window below the floor, so a different
-- message under a number konsign has is told apart from a copy; and the boot whose numbering
-- konsign follows, so a station whose numbering began again (a bridge that lost its state file)
-- is recognised by its new boot instead of having every later event dropped.
alter table cut_event_seqs add column message_id text;
alter table cut_event_seqs add column boot_id text;
alter table cut_stations add column seq_boot_id text;
