-- MySQL/MariaDB 0003: replies, deletion, editing, images and locations, as the SQLite store's
-- migrations/0005 (`kind` is a VARCHAR here: the new kinds need no change to it).
-- Released migrations are never edited or reordered: add a new numbered file instead.
-- Each statement is applied once and recorded in darkchat_schema (src/mysql/schema.rs).

-- The message a message answers, and its JSON extra (kind-specific data, the quote of the
-- message answered, edit and deletion times; src/model.rs `Extra`; NULL for a plain message).
ALTER TABLE darkchat_messages
    ADD COLUMN reply_to BIGINT     NULL,
    ADD COLUMN extra    MEDIUMTEXT NULL,
    ADD KEY messages_replies (reply_to);
ALTER TABLE darkchat_conversations ADD COLUMN last_extra MEDIUMTEXT NULL;
