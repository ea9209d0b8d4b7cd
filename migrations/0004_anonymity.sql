-- 0004: anonymity and moderation. Members are named by an alias per conversation (what
-- players see of each other instead of phone numbers), may be moderators, may mute a
-- conversation; numbers kicked with a ban cannot come back until unbanned.
-- Released migrations are never edited or reordered: add a new numbered file instead.

-- The alias a member goes by in this conversation, and its case-folded form: unique per
-- conversation, so that no two members look alike ("Night Owl" and "night owl").
ALTER TABLE members ADD COLUMN alias        TEXT    NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN alias_key    TEXT    NOT NULL DEFAULT '';
-- A moderator may remove and ban members who are neither the owner nor moderators.
ALTER TABLE members ADD COLUMN is_moderator INTEGER NOT NULL DEFAULT 0;
-- A muted conversation sends its member no pushes; unread counts are kept as always.
ALTER TABLE members ADD COLUMN muted        INTEGER NOT NULL DEFAULT 0;

-- Existing members get generated aliases: an adjective and a noun, chosen by the member's
-- place in the conversation (never by the number), with a number after them for the 1025th
-- member on. Distinct within each conversation by construction.
WITH adjectives (i, word) AS (VALUES (0, 'Amber'), (1, 'Brave'), (2, 'Calm'), (3, 'Clever'), (4, 'Crimson'), (5, 'Dusty'),
                                      (6, 'Eager'), (7, 'Fuzzy'), (8, 'Gentle'), (9, 'Golden'), (10, 'Hidden'), (11, 'Icy'),
                                      (12, 'Jolly'), (13, 'Lucky'), (14, 'Misty'), (15, 'Night'), (16, 'Noble'), (17, 'Quiet'),
                                      (18, 'Rapid'), (19, 'Rusty'), (20, 'Silent'), (21, 'Silver'), (22, 'Sleepy'),
                                      (23, 'Sly'), (24, 'Stormy'), (25, 'Swift'), (26, 'Tidy'), (27, 'Velvet'), (28, 'Wild'),
                                      (29, 'Witty'), (30, 'Young'), (31, 'Zesty')),
     nouns (i, word) AS (VALUES (0, 'Badger'), (1, 'Crow'), (2, 'Dingo'), (3, 'Eagle'), (4, 'Falcon'), (5, 'Ferret'),
                                 (6, 'Fox'), (7, 'Gecko'), (8, 'Heron'), (9, 'Ibis'), (10, 'Jackal'), (11, 'Koala'),
                                 (12, 'Lynx'), (13, 'Marten'), (14, 'Moth'), (15, 'Newt'), (16, 'Otter'), (17, 'Owl'),
                                 (18, 'Panda'), (19, 'Puma'), (20, 'Raven'), (21, 'Robin'), (22, 'Seal'), (23, 'Shark'),
                                 (24, 'Sparrow'), (25, 'Tiger'), (26, 'Toad'), (27, 'Viper'), (28, 'Walrus'),
                                 (29, 'Wolf'), (30, 'Yak'), (31, 'Zebra')),
     ranked (id, rn, k) AS (
       SELECT id, rn, (rn + conversation_id * 7) % 1024
         FROM (SELECT id, conversation_id,
                      row_number() OVER (PARTITION BY conversation_id ORDER BY id) - 1 AS rn
                 FROM members))
UPDATE members
   SET alias = (SELECT a.word || ' ' || n.word
                       || CASE WHEN r.rn >= 1024 THEN ' ' || (r.rn / 1024 + 1) ELSE '' END
                  FROM ranked r
                  JOIN adjectives a ON a.i = r.k % 32
                  JOIN nouns n ON n.i = (r.k / 32 + 5 * (r.k % 32)) % 32
                 WHERE r.id = members.id);
UPDATE members SET alias_key = lower(alias);
CREATE UNIQUE INDEX members_alias ON members (conversation_id, alias_key);

-- A message keeps the alias its sender (or subject) had when it was written: what players see
-- as its sender, also after the member changed alias or left.
ALTER TABLE messages ADD COLUMN sender_alias TEXT;
ALTER TABLE conversations ADD COLUMN last_sender_alias TEXT;
UPDATE messages
   SET sender_alias = coalesce(
         (SELECT m.alias FROM members m
           WHERE m.conversation_id = messages.conversation_id AND m.phone_id = messages.sender_id),
         'Former member')
 WHERE sender_id IS NOT NULL;
-- System messages named their subject by number: they name the alias now.
UPDATE messages
   SET content = CASE event
         WHEN 'joined'  THEN sender_alias || ' joined'
         WHEN 'left'    THEN sender_alias || ' left'
         WHEN 'removed' THEN sender_alias || ' was removed'
         WHEN 'owner'   THEN sender_alias || ' is now the owner'
         ELSE content END
 WHERE kind = 'system' AND sender_alias IS NOT NULL;
UPDATE conversations
   SET (last_sender_alias, last_content) =
       (SELECT m.sender_alias, m.content FROM messages m WHERE m.id = conversations.last_message_id)
 WHERE last_message_id > 0;

-- The page index covers the sender's alias too (a page is still one range scan).
DROP INDEX messages_page;
CREATE INDEX messages_page ON messages
    (conversation_id, id, sender_id, sender_alias, kind, event, created_at, content);

-- Numbers banned from a conversation (a kick bans unless told not to): they cannot join by
-- code or be added back until the owner or an admin lifts the ban. `alias` is what the member
-- was called, for the owner's ban list; `id` names a ban to players (it is not the same in any
-- other conversation). At most Limits::max_bans per conversation.
CREATE TABLE bans (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    phone_id        INTEGER NOT NULL REFERENCES phones (id),
    alias           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (conversation_id, phone_id)
);
