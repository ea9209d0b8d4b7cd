-- 0003: a slim index for unread counts.
-- Released migrations are never edited or reordered: add a new numbered file instead.

-- A listing counts each conversation's unread messages (up to a cap) by walking the index
-- entries after the member's read position. The page index (0002) holds every message's
-- content, so that walk read pages full of text to count rows; this one holds the ids alone
-- (a few bytes an entry), which is all a count needs. Pages of messages still read the page
-- index: this one does not cover them.
CREATE INDEX messages_unread ON messages (conversation_id, id);
