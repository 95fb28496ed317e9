-- A printer limited to the labels of its station (issue 16, finding 4): the template names it
-- may print, comma-separated; null: any.
alter table printers add column templates text;
