-- MySQL/MariaDB 0006: imports from other phones' dark chats, as the SQLite store's
-- migrations/0007. One row per source channel brought in by `darkchat import npwd|lbphone`,
-- written in the same transaction as the conversation it became, so that a second run (or a
-- second server running it at the same time) imports nothing twice.
-- Released migrations are never edited or reordered: add a new numbered file instead.
-- Each statement is applied once and recorded in darkchat_schema (src/mysql/schema.rs).

-- `source_key` is "<peer>:<channel key>"; no foreign key to the conversation: the record
-- stays when that conversation is deleted later.
CREATE TABLE IF NOT EXISTS darkchat_imports (
    source_key      VARCHAR(191) NOT NULL,
    conversation_id BIGINT       NOT NULL,
    imported_at     BIGINT       NOT NULL,
    PRIMARY KEY (source_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
