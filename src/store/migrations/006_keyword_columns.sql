-- Keyword words in two columns: `name` holds the words of the file name and
-- symbol, `body` those of the chunk text, so that a search can weight names
-- above text. Rows of the one-column table are dropped rather than converted,
-- because their words are not stemmed: opening a collection adds a row for
-- every chunk that has none (`search::backfill`).
DROP TABLE chunks_fts;
CREATE VIRTUAL TABLE chunks_fts USING fts5(name, body, tokenize = 'unicode61');
