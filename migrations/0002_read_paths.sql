-- 0002: faster read paths (covering indexes, the last message beside its conversation) and
-- the checkpointer's marker row.
-- Released migrations are never edited or reordered: add a new numbered file instead.

-- A page of messages reads one conversation's newest rows. Messages of a conversation are
-- spread over the whole table (they arrive interleaved with everyone else's), so fetching each
-- row by id touched a different page per message. This index holds every column a page needs,
-- in (conversation, id) order: a page is one short range scan. It replaces the (conversation,
-- id) index, which is its prefix (and still backs the foreign key).
CREATE INDEX messages_page ON messages
    (conversation_id, id, sender_id, kind, event, created_at, content);
DROP INDEX messages_by_conversation;

-- Listing a member's conversations reads the member's read position beside each conversation
-- id; with it in the index the member rows are never visited.
CREATE INDEX members_of_phone ON members (phone_id, conversation_id, last_read_message_id);
DROP INDEX members_by_phone;

-- One row the background checkpointer rewrites after each complete checkpoint. That commit
-- restarts the write-ahead log (header rewrite, fsync, truncation) on the checkpointer's
-- thread, instead of on the next player-facing commit (see src/store/checkpoint.rs).
CREATE TABLE wal_marker (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO wal_marker (id, n) VALUES (1, 0);

-- The newest message of each conversation, kept beside it: a listing shows each conversation
-- with its last message, and reading it here saves a lookup per conversation listed. Written
-- by the same statement that moves `last_message_id` (messages are never edited, and phone
-- numbers of a phone id never change, so the copy cannot go stale).
ALTER TABLE conversations ADD COLUMN last_sender     TEXT;
ALTER TABLE conversations ADD COLUMN last_kind       TEXT;
ALTER TABLE conversations ADD COLUMN last_event      TEXT;
ALTER TABLE conversations ADD COLUMN last_content    TEXT;
ALTER TABLE conversations ADD COLUMN last_created_at INTEGER;
UPDATE conversations
   SET (last_sender, last_kind, last_event, last_content, last_created_at) =
       (SELECT p.number, m.kind, m.event, m.content, m.created_at
          FROM messages m LEFT JOIN phones p ON p.id = m.sender_id
         WHERE m.id = conversations.last_message_id)
 WHERE last_message_id > 0;
