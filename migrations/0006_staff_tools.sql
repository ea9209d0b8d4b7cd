-- 0006: staff tools and reports. Staff bans keep a number out of Darkchat entirely (set from
-- the server console, optionally until a time); reports are members' complaints about a
-- message, kept with what the message said when it was reported.
-- Released migrations are never edited or reordered: add a new numbered file instead.

-- One row per banned number (a second ban replaces the first). `expires_at` NULL: until lifted.
-- The number is kept as written (the input rules), not as a phone row: a number may be banned
-- before it was ever seen. At most Limits::max_staff_bans rows in force; expired ones are
-- deleted when the next ban is written.
CREATE TABLE staff_bans (
    number     TEXT    PRIMARY KEY,
    reason     TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER
);
-- Ended bans are found (and deleted) by their end; the staff's list walks the newest first.
CREATE INDEX staff_bans_expiry ON staff_bans (expires_at);
CREATE INDEX staff_bans_created ON staff_bans (created_at, number);

-- A member's report of a message: the message as it was (content, sender's number and alias),
-- who reported it and why. No foreign keys: a report outlives the message and the conversation
-- (it is the evidence). At most Limits::max_reports rows; the oldest is dropped for a new one.
-- One report per member and message.
CREATE TABLE reports (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL,
    message_id      INTEGER NOT NULL,
    reporter        TEXT    NOT NULL,
    reporter_alias  TEXT    NOT NULL,
    sender          TEXT,
    sender_alias    TEXT,
    content         TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (message_id, reporter)
);
