-- MySQL/MariaDB 0004: staff tools and reports, as the SQLite store's migrations/0006.
-- Released migrations are never edited or reordered: add a new numbered file instead.
-- Each statement is applied once and recorded in darkchat_schema (src/mysql/schema.rs).

-- Numbers banned from Darkchat by staff (see migrations/0006_staff_tools.sql).
CREATE TABLE IF NOT EXISTS darkchat_staff_bans (
    number     VARCHAR(20)  NOT NULL,
    reason     VARCHAR(200) NULL,
    created_at BIGINT       NOT NULL,
    expires_at BIGINT       NULL,
    PRIMARY KEY (number),
    KEY staff_bans_expiry (expires_at),
    KEY staff_bans_created (created_at, number)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Members' reports of messages, with the message as it was (no foreign keys: a report
-- outlives the message and its conversation).
CREATE TABLE IF NOT EXISTS darkchat_reports (
    id              BIGINT       NOT NULL AUTO_INCREMENT,
    conversation_id BIGINT       NOT NULL,
    message_id      BIGINT       NOT NULL,
    reporter        VARCHAR(20)  NOT NULL,
    reporter_alias  VARCHAR(24)  NOT NULL,
    sender          VARCHAR(20)  NULL,
    sender_alias    VARCHAR(24)  NULL,
    content         TEXT         NOT NULL,
    reason          VARCHAR(200) NOT NULL,
    created_at      BIGINT       NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY reports_message_reporter (message_id, reporter)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
