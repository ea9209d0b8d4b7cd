-- MySQL/MariaDB 0007: disappearing messages, as the SQLite store's migrations/0008.
-- Released migrations are never edited or reordered: add a new numbered file instead.
-- Each statement is applied once and recorded in darkchat_schema (src/mysql/schema.rs).

-- Seconds a message is kept in this conversation; 0: until the server's caps (if any) remove it.
-- Only 0, 3600, 86400 and 604800 are ever written (the core checks).
ALTER TABLE darkchat_conversations
    ADD COLUMN retention_seconds INT NOT NULL DEFAULT 0,
    ADD KEY conversations_retention (retention_seconds, id);

-- A conversation's messages oldest first by time: a sweep step deletes the expired ones of one
-- conversation as one range (`conversation_id = ? AND created_at < ? ORDER BY created_at
-- LIMIT ?`), however many there are. InnoDB builds it in place, without blocking writes.
ALTER TABLE darkchat_messages ADD KEY messages_expiry (conversation_id, created_at);
