-- Records which embedder and dimension produced each chunk's vector, as
-- `<embedder>@<dimension>`, so that a collection whose embedder changed can be
-- re-embedded chunk by chunk, surviving restarts, without ever mixing vectors
-- from two embedders in one graph.
ALTER TABLE chunks ADD COLUMN embedder TEXT NOT NULL DEFAULT '';
UPDATE chunks SET embedder = (
    SELECT collections.embedder || '@' || collections.dimension
    FROM collections WHERE collections.name = chunks.collection
);
CREATE INDEX chunks_by_embedder ON chunks (collection, embedder);
