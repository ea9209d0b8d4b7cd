-- 0001: the initial Darkchat schema.
-- Released migrations are never edited or reordered: add a new numbered file instead.

-- One row per phone number ever seen. `id` is the stable "phone id" exposed as `createdBy`.
CREATE TABLE phones (
    id     INTEGER PRIMARY KEY,
    number TEXT    NOT NULL UNIQUE
);

CREATE TABLE conversations (
    -- AUTOINCREMENT: an id is never handed out twice, even after the conversation is deleted,
    -- so a stale id held by another resource can never point at someone else's chat.
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL,
    app_name        TEXT    NOT NULL DEFAULT 'darkchat',
    created_by      INTEGER NOT NULL REFERENCES phones (id),
    owner_id        INTEGER NOT NULL REFERENCES phones (id),
    -- Stored upper-case; uniqueness is therefore case-insensitive.
    join_code       TEXT    NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    -- Id of the newest message (0 when none): read state and listing without touching messages.
    last_message_id INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE members (
    -- Insertion order is membership age: the smallest id is the longest-standing member.
    id                   INTEGER PRIMARY KEY,
    conversation_id      INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    phone_id             INTEGER NOT NULL REFERENCES phones (id),
    joined_at            INTEGER NOT NULL,
    -- Newest message id this member has read; unread = messages with a greater id.
    last_read_message_id INTEGER NOT NULL DEFAULT 0,
    UNIQUE (conversation_id, phone_id)
);
CREATE INDEX members_by_phone ON members (phone_id, conversation_id);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- The author for text messages; the subject (who joined, left, ...) for system messages.
    sender_id       INTEGER REFERENCES phones (id),
    kind            TEXT    NOT NULL CHECK (kind IN ('text', 'system')),
    -- For system messages: joined | left | removed | renamed | owner | code.
    event           TEXT,
    content         TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);

-- Standalone servers (no framework): a phone number generated once per license identifier.
CREATE TABLE standalone_numbers (
    license    TEXT    PRIMARY KEY,
    number     TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
