-- 0007: what `darkchat import npwd|lbphone` brought in from another phone's dark chat, so that
-- running it again imports nothing twice. One row per source channel, written in the same
-- transaction as the conversation it became.
-- Released migrations are never edited or reordered: add a new numbered file instead.

-- `source_key` is "<peer>:<channel key>" (`npwd:12`, `lbphone:heist`). `conversation_id` is
-- the conversation made from it; no foreign key: the record stays when that conversation is
-- deleted later, so a deleted import does not come back on the next run.
CREATE TABLE imports (
    source_key      TEXT    NOT NULL PRIMARY KEY,
    conversation_id INTEGER NOT NULL,
    imported_at     INTEGER NOT NULL
);
