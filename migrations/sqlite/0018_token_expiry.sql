-- API tokens expire (new ones after a year unless told otherwise; tokens made before this have
-- no expiry until an admin replaces them) and say when they were last used.
alter table api_tokens add column expires_at text;
alter table api_tokens add column last_used_at text;
