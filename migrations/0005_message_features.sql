-- 0005: replies, deletion, editing, images and locations.
-- Released migrations are never edited or reordered: add a new numbered file instead.
--
-- The messages table is rebuilt: its `kind` CHECK of 0001 allows only 'text' and 'system', and
-- SQLite cannot change a CHECK in place (ALTER TABLE can only add columns). The rows are copied
-- with their ids, the AUTOINCREMENT high-water mark is carried over (so an id is still never
-- handed out twice), and the indexes are built again over the new columns. On a large
-- database this takes a while, and the migration runner says so before and after (LONG_STEPS).

CREATE TABLE messages_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- The author for a member's message; the subject (who joined, left, ...) for a system one.
    sender_id       INTEGER REFERENCES phones (id),
    kind            TEXT    NOT NULL CHECK (kind IN ('text', 'system', 'image', 'location')),
    event           TEXT,
    -- '' for a deleted message (its text is overwritten, not hidden), an image or a location.
    content         TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    sender_alias    TEXT,
    -- The message this one answers (same conversation), for rewriting its quote when that one
    -- is deleted.
    reply_to        INTEGER,
    -- JSON: kind-specific data, the quote of the message answered, when it was edited or
    -- deleted (src/model.rs `Extra`). NULL for a plain message, as every older one is.
    extra           TEXT
);
INSERT INTO messages_new
    (id, conversation_id, sender_id, kind, event, content, created_at, sender_alias)
    SELECT id, conversation_id, sender_id, kind, event, content, created_at, sender_alias
      FROM messages ORDER BY id;
DELETE FROM sqlite_sequence WHERE name = 'messages_new';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'messages_new', seq FROM sqlite_sequence WHERE name = 'messages';
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;

-- The indexes of 0002-0004, the page index now covering `extra` too (a page is still one
-- range scan), and the replies of a message (most messages answer none: a partial index).
CREATE INDEX messages_page ON messages
    (conversation_id, id, sender_id, sender_alias, kind, event, created_at, content, extra);
CREATE INDEX messages_unread ON messages (conversation_id, id);
CREATE INDEX messages_replies ON messages (reply_to) WHERE reply_to IS NOT NULL;

-- The conversation's copy of its newest message keeps that message's extra too.
ALTER TABLE conversations ADD COLUMN last_extra TEXT;
