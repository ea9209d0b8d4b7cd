-- MySQL/MariaDB 0001: the initial Darkchat schema, the same tables as the SQLite store's
-- (migrations/0001 and 0002), named darkchat_* so that they sit beside the server's other
-- tables in its database.
-- Released migrations are never edited or reordered: add a new numbered file instead.
-- Each statement is applied once and recorded in darkchat_schema (src/mysql/schema.rs), so a
-- start that stopped half-way resumes at the next statement.
-- InnoDB (transactions, row locks), utf8mb4 with binary collation (numbers, codes and names
-- compare exactly as in Rust), times as unix seconds in BIGINT (no time-zone conversions).

-- One row per phone number ever seen. `id` is the stable "phone id" exposed as `createdBy`.
CREATE TABLE IF NOT EXISTS darkchat_phones (
    id     BIGINT      NOT NULL AUTO_INCREMENT,
    number VARCHAR(20) NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY phones_number (number)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- AUTO_INCREMENT ids are never handed out twice (the counter survives restarts from MariaDB
-- 10.2.4 and MySQL 8.0: the minimum versions checked at start).
CREATE TABLE IF NOT EXISTS darkchat_conversations (
    id              BIGINT      NOT NULL AUTO_INCREMENT,
    name            VARCHAR(64) NOT NULL,
    app_name        VARCHAR(32) NOT NULL DEFAULT 'darkchat',
    created_by      BIGINT      NOT NULL,
    owner_id        BIGINT      NOT NULL,
    -- Stored upper-case; uniqueness is therefore case-insensitive.
    join_code       VARCHAR(16) NOT NULL,
    created_at      BIGINT      NOT NULL,
    updated_at      BIGINT      NOT NULL,
    -- Id of the newest message (0 when none), and a copy of it for listings.
    last_message_id BIGINT      NOT NULL DEFAULT 0,
    last_sender     VARCHAR(20) NULL,
    last_kind       VARCHAR(16) NULL,
    last_event      VARCHAR(16) NULL,
    last_content    MEDIUMTEXT  NULL,
    last_created_at BIGINT      NULL,
    PRIMARY KEY (id),
    UNIQUE KEY conversations_join_code (join_code),
    CONSTRAINT conversations_created_by FOREIGN KEY (created_by) REFERENCES darkchat_phones (id),
    CONSTRAINT conversations_owner FOREIGN KEY (owner_id) REFERENCES darkchat_phones (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS darkchat_members (
    -- Insertion order is membership age: the smallest id is the longest-standing member.
    id                   BIGINT NOT NULL AUTO_INCREMENT,
    conversation_id      BIGINT NOT NULL,
    phone_id             BIGINT NOT NULL,
    joined_at            BIGINT NOT NULL,
    -- Newest message id this member has read; unread = messages with a greater id.
    last_read_message_id BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (id),
    UNIQUE KEY members_conversation_phone (conversation_id, phone_id),
    KEY members_of_phone (phone_id, conversation_id, last_read_message_id),
    CONSTRAINT members_conversation FOREIGN KEY (conversation_id)
        REFERENCES darkchat_conversations (id) ON DELETE CASCADE,
    CONSTRAINT members_phone FOREIGN KEY (phone_id) REFERENCES darkchat_phones (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE IF NOT EXISTS darkchat_messages (
    id              BIGINT      NOT NULL AUTO_INCREMENT,
    conversation_id BIGINT      NOT NULL,
    -- The author for text messages; the subject (who joined, left, ...) for system messages.
    sender_id       BIGINT      NULL,
    kind            VARCHAR(16) NOT NULL,
    -- For system messages: joined | left | removed | renamed | owner.
    event           VARCHAR(16) NULL,
    content         MEDIUMTEXT  NOT NULL,
    created_at      BIGINT      NOT NULL,
    PRIMARY KEY (id),
    -- A page, and the unread counts, are one range of this index.
    KEY messages_page (conversation_id, id),
    CONSTRAINT messages_conversation FOREIGN KEY (conversation_id)
        REFERENCES darkchat_conversations (id) ON DELETE CASCADE,
    CONSTRAINT messages_sender FOREIGN KEY (sender_id) REFERENCES darkchat_phones (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Standalone servers (no framework): a phone number generated once per license identifier.
CREATE TABLE IF NOT EXISTS darkchat_standalone_numbers (
    license    VARCHAR(128) NOT NULL,
    number     VARCHAR(20)  NOT NULL,
    created_at BIGINT       NOT NULL,
    PRIMARY KEY (license),
    UNIQUE KEY standalone_numbers_number (number)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
