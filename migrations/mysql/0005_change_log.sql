-- MySQL/MariaDB 0005: the change log of a server network (several servers on this database).
-- Each change is recorded here in its own transaction, so that the other servers can tell
-- their players and resources; each server reads the entries after where it last was and
-- skips its own. Pruned by count and age in small batches (src/mysql/changes.rs).
-- Released migrations are never edited or reordered: add a new numbered file instead.
-- Each statement is applied once and recorded in darkchat_schema (src/mysql/schema.rs).

-- The entries. `id` is handed out by darkchat_change_head, gapless and in commit order;
-- `server_id` is the server that made the change; `kind` the server event's name; `data` what
-- the notify layer needs beyond the members (JSON); `created_at` the database's unix seconds.
CREATE TABLE IF NOT EXISTS darkchat_changes (
    id              BIGINT      NOT NULL PRIMARY KEY,
    server_id       VARCHAR(64) NOT NULL,
    kind            VARCHAR(32) NOT NULL,
    conversation_id BIGINT      NOT NULL,
    data            MEDIUMTEXT  NOT NULL,
    created_at      BIGINT      NOT NULL,
    KEY changes_created (created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- One row: the last id handed out. A writer holds it from its entry to its commit.
CREATE TABLE IF NOT EXISTS darkchat_change_head (
    one     TINYINT NOT NULL PRIMARY KEY,
    last_id BIGINT  NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
INSERT INTO darkchat_change_head (one, last_id) VALUES (1, 0);

-- Where each server has read the log up to (a server that restarts carries on from there),
-- and when it last read (unix seconds, the database's clock).
CREATE TABLE IF NOT EXISTS darkchat_servers (
    server_id VARCHAR(64) NOT NULL PRIMARY KEY,
    position  BIGINT      NOT NULL,
    seen_at   BIGINT      NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
