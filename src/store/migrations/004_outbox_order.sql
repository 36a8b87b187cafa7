-- Lets a new outbox row find the highest created_seq without reading the
-- whole table.
CREATE INDEX outbox_by_created_seq ON outbox (created_seq);
