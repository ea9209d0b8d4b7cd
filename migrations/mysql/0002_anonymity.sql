-- MySQL/MariaDB 0002: anonymity and moderation, as the SQLite store's migrations/0004.
-- Members are named by an alias per conversation (what players see of each other instead of
-- phone numbers), may be moderators, may mute a conversation; numbers kicked with a ban cannot
-- come back until unbanned.
-- Released migrations are never edited or reordered: add a new numbered file instead.
-- Each statement is applied once and recorded in darkchat_schema (src/mysql/schema.rs).

-- The alias and its case-folded form (unique per conversation); moderator; muted.
ALTER TABLE darkchat_members
    ADD COLUMN alias        VARCHAR(24) NOT NULL DEFAULT '',
    ADD COLUMN alias_key    VARCHAR(96) NOT NULL DEFAULT '',
    ADD COLUMN is_moderator TINYINT     NOT NULL DEFAULT 0,
    ADD COLUMN muted        TINYINT     NOT NULL DEFAULT 0;

-- Existing members get generated aliases: an adjective and a noun chosen by the member's place
-- in the conversation (never by the number), a number after them from the 1025th member on.
UPDATE darkchat_members m
  JOIN (SELECT id, rn, MOD(rn + conversation_id * 7, 1024) AS k
          FROM (SELECT id, conversation_id,
                       ROW_NUMBER() OVER (PARTITION BY conversation_id ORDER BY id) - 1 AS rn
                  FROM darkchat_members) numbered) r ON r.id = m.id
   SET m.alias = CONCAT(
         ELT(MOD(r.k, 32) + 1, 'Amber', 'Brave', 'Calm', 'Clever', 'Crimson', 'Dusty', 'Eager', 'Fuzzy', 'Gentle', 'Golden', 'Hidden', 'Icy', 'Jolly', 'Lucky', 'Misty', 'Night', 'Noble', 'Quiet', 'Rapid', 'Rusty', 'Silent', 'Silver', 'Sleepy', 'Sly', 'Stormy', 'Swift', 'Tidy', 'Velvet', 'Wild', 'Witty', 'Young', 'Zesty'),
         ' ',
         ELT(MOD(r.k DIV 32 + 5 * MOD(r.k, 32), 32) + 1, 'Badger', 'Crow', 'Dingo', 'Eagle', 'Falcon', 'Ferret', 'Fox', 'Gecko', 'Heron', 'Ibis', 'Jackal', 'Koala', 'Lynx', 'Marten', 'Moth', 'Newt', 'Otter', 'Owl', 'Panda', 'Puma', 'Raven', 'Robin', 'Seal', 'Shark', 'Sparrow', 'Tiger', 'Toad', 'Viper', 'Walrus', 'Wolf', 'Yak', 'Zebra'),
         IF(r.rn >= 1024, CONCAT(' ', r.rn DIV 1024 + 1), ''));
UPDATE darkchat_members SET alias_key = LOWER(alias);
ALTER TABLE darkchat_members ADD UNIQUE KEY members_alias (conversation_id, alias_key);

-- A message keeps the alias its sender (or subject) had when it was written.
ALTER TABLE darkchat_messages ADD COLUMN sender_alias VARCHAR(24) NULL;
ALTER TABLE darkchat_conversations ADD COLUMN last_sender_alias VARCHAR(24) NULL;
UPDATE darkchat_messages x
   SET x.sender_alias = COALESCE(
         (SELECT m.alias FROM darkchat_members m
           WHERE m.conversation_id = x.conversation_id AND m.phone_id = x.sender_id),
         'Former member')
 WHERE x.sender_id IS NOT NULL;
-- System messages named their subject by number: they name the alias now.
UPDATE darkchat_messages
   SET content = CASE event
         WHEN 'joined'  THEN CONCAT(sender_alias, ' joined')
         WHEN 'left'    THEN CONCAT(sender_alias, ' left')
         WHEN 'removed' THEN CONCAT(sender_alias, ' was removed')
         WHEN 'owner'   THEN CONCAT(sender_alias, ' is now the owner')
         ELSE content END
 WHERE kind = 'system' AND sender_alias IS NOT NULL;
UPDATE darkchat_conversations c
  JOIN darkchat_messages x ON x.id = c.last_message_id
   SET c.last_sender_alias = x.sender_alias, c.last_content = x.content;

-- Numbers banned from a conversation (see migrations/0004_anonymity.sql).
CREATE TABLE IF NOT EXISTS darkchat_bans (
    id              BIGINT      NOT NULL AUTO_INCREMENT,
    conversation_id BIGINT      NOT NULL,
    phone_id        BIGINT      NOT NULL,
    alias           VARCHAR(24) NOT NULL,
    created_at      BIGINT      NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY bans_conversation_phone (conversation_id, phone_id),
    CONSTRAINT bans_conversation FOREIGN KEY (conversation_id)
        REFERENCES darkchat_conversations (id) ON DELETE CASCADE,
    CONSTRAINT bans_phone FOREIGN KEY (phone_id) REFERENCES darkchat_phones (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
