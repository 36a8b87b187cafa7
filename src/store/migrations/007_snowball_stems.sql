-- The keyword words are now reduced by Snowball's English stemmer instead of
-- the original Porter algorithm, so stored rows no longer match the words of
-- a query. They are dropped here, and opening a collection adds a row for
-- every chunk that has none (`search::backfill`).
DELETE FROM chunks_fts;
