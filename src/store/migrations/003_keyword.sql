-- Keyword index for BM25 search. Each row holds the identifier-split words of
-- one chunk's text, file name and symbol; its rowid is the rowid of the chunk
-- in `chunks`, which keeps the two in step.
CREATE VIRTUAL TABLE chunks_fts USING fts5(tokens, tokenize = 'unicode61');
