-- 0008: disappearing messages. A conversation's owner (or a moderator) sets how long its
-- messages are kept; the server's caps in config (a maximum age, a maximum count per
-- conversation) apply to every conversation. Expired messages are deleted in the background in
-- small batches (src/service/retention.rs), each batch found through the index below.
-- Released migrations are never edited or reordered: add a new numbered file instead.

-- Seconds a message is kept in this conversation; 0: until the server's caps (if any) remove it.
-- Only 0, 3600, 86400 and 604800 are ever written (the core checks).
ALTER TABLE conversations ADD COLUMN retention_seconds INTEGER NOT NULL DEFAULT 0;

-- A conversation's messages oldest first by time: a sweep step reads the expired ones of one
-- conversation as one range (`conversation_id = ? AND created_at < ?`, LIMIT), however many
-- there are. (Message times are not ordered by id: imported messages keep their own times.)
-- On a large database building it takes a while (the runner says so: LONG_STEPS).
CREATE INDEX messages_expiry ON messages (conversation_id, created_at);

-- The conversations a sweep walks when the server sets no cap: only those with a retention.
CREATE INDEX conversations_retention ON conversations (id) WHERE retention_seconds > 0;
