//! The domain core on a real (in-memory or on-disk) SQLite store, without Lua.

mod support;

use support::scratch;

use darkchat::input::{Alias, ConversationName, JoinCode, PhoneNumber};
use darkchat::model::{MessageKind, SystemEvent};
use darkchat::{Actor, ConversationId, Darkchat, Limits, MessageId, Store};

const NOW: i64 = 1_700_000_000;

/// The documented alphabet of generated join codes (README "Inputs"), spelled out here rather
/// than taken from the library, so that a wrong alphabet in the library fails these tests.
const DOCUMENTED_CODE_ALPHABET: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

fn core() -> Darkchat {
    Darkchat::new(Store::open_in_memory().unwrap(), Limits::default(), [7; 32])
}

fn n(s: &str) -> PhoneNumber {
    PhoneNumber::parse(s).unwrap()
}

fn name(s: &str) -> ConversationName {
    ConversationName::parse(s).unwrap()
}

#[test]
fn create_returns_the_documented_conversation() {
    let mut dc = core();
    let conv = dc.create_conversation(&n("5550123"), &name(" Heist Planning "), None, NOW).unwrap();
    assert!(conv.id.get() > 0);
    assert_eq!(conv.name, "Heist Planning");
    assert_eq!(conv.app_name, "darkchat");
    assert_eq!(conv.owner, "5550123");
    assert_eq!(conv.created_at, NOW);
    assert_eq!(conv.updated_at, NOW);
    assert_eq!(conv.recipients, vec!["5550123"]);
    assert!(conv.messages.is_empty());
    assert!(conv.is_it_read);
    assert_eq!(conv.join_code.len(), 6);
    assert!(
        conv.join_code.chars().all(|c| DOCUMENTED_CODE_ALPHABET.contains(c)),
        "{}",
        conv.join_code
    );
    // createdBy is the creator's stable phone id: the same for every conversation they create.
    let again = dc.create_conversation(&n("5550123"), &name("Other"), None, NOW).unwrap();
    assert_eq!(again.created_by, conv.created_by);
    let other = dc.create_conversation(&n("5550999"), &name("Third"), None, NOW).unwrap();
    assert_ne!(other.created_by, conv.created_by);
}

#[test]
fn custom_codes_are_unique_case_insensitively() {
    let mut dc = core();
    let code = JoinCode::parse("crew42").unwrap();
    let conv = dc.create_conversation(&n("1"), &name("A"), Some(&code), NOW).unwrap();
    assert_eq!(conv.join_code, "CREW42");
    let upper = JoinCode::parse("CREW42").unwrap();
    let err = dc.create_conversation(&n("2"), &name("B"), Some(&upper), NOW).unwrap_err();
    assert_eq!(err.code(), "join_code_taken");
    assert_eq!(dc.stats().unwrap().conversations, 1);
}

#[test]
fn generated_codes_are_distinct_and_use_the_whole_documented_alphabet() {
    let mut dc = core();
    let mut seen = std::collections::HashSet::new();
    let mut letters = std::collections::BTreeSet::new();
    for i in 0..300 {
        let conv =
            dc.create_conversation(&n(&format!("{}", 1000 + i)), &name("x"), None, NOW).unwrap();
        assert_eq!(conv.join_code.len(), 6, "{}", conv.join_code);
        letters.extend(conv.join_code.chars());
        assert!(seen.insert(conv.join_code));
    }
    // 1,800 characters drawn from 32: every one shows up (a missing one has odds of ~1e-25),
    // and nothing else does.
    assert_eq!(letters.into_iter().collect::<String>(), {
        let mut sorted: Vec<char> = DOCUMENTED_CODE_ALPHABET.chars().collect();
        sorted.sort_unstable();
        sorted.into_iter().collect::<String>()
    });
}

#[test]
fn add_and_remove_record_system_messages_and_membership_order() {
    let mut dc = core();
    let id = dc.create_conversation(&n("100"), &name("Crew"), None, NOW).unwrap().id;
    let change = dc.add_member(&n("200"), id, NOW + 1).unwrap();
    assert_eq!(change.recipients, vec!["100", "200"]);
    let joined = change.message.unwrap();
    assert_eq!((joined.kind, joined.event), (MessageKind::System, Some(SystemEvent::Joined)));
    assert_eq!(dc.add_member(&n("200"), id, NOW).unwrap_err().code(), "already_member");
    dc.add_member(&n("300"), id, NOW + 2).unwrap();

    let left = dc.remove_member(&n("200"), id, true, NOW + 3).unwrap();
    assert_eq!(left.message.unwrap().event, Some(SystemEvent::Left));
    let removed = dc.remove_member(&n("300"), id, false, NOW + 4).unwrap();
    assert_eq!(removed.message.unwrap().event, Some(SystemEvent::Removed));
    assert_eq!(dc.remove_member(&n("300"), id, false, NOW).unwrap_err().code(), "not_member");
    assert_eq!(dc.remove_member(&n("999"), id, false, NOW).unwrap_err().code(), "not_member");

    let conv = dc.conversation(&n("100"), id).unwrap();
    assert_eq!(conv.updated_at, NOW + 4);
    let events: Vec<_> = conv.messages.iter().map(|m| m.event.unwrap()).collect();
    use SystemEvent::*;
    assert_eq!(events, vec![Joined, Joined, Left, Removed]);
}

#[test]
fn missing_conversations_and_non_members_are_told_apart() {
    let mut dc = core();
    assert_eq!(
        dc.add_member(&n("1"), ConversationId(42), NOW).unwrap_err().code(),
        "conversation_not_found"
    );
    assert_eq!(
        dc.remove_member(&n("1"), ConversationId(42), true, NOW).unwrap_err().code(),
        "conversation_not_found"
    );
    let id = dc.create_conversation(&n("1"), &name("A"), None, NOW).unwrap().id;
    assert_eq!(dc.conversation(&n("2"), id).unwrap_err().code(), "not_member");
    // A failed add writes nothing: not even the phone row of the new number.
    let before = dc.stats().unwrap();
    assert!(dc.add_member(&n("777"), ConversationId(id.get() + 1), NOW).is_err());
    assert_eq!(dc.stats().unwrap(), before);
}

#[test]
fn owner_leaving_passes_ownership_to_the_longest_standing_member() {
    let mut dc = core();
    let id = dc.create_conversation(&n("1"), &name("A"), None, NOW).unwrap().id;
    dc.add_member(&n("2"), id, NOW).unwrap();
    dc.add_member(&n("3"), id, NOW).unwrap();
    dc.remove_member(&n("2"), id, true, NOW).unwrap();
    dc.add_member(&n("2"), id, NOW).unwrap(); // rejoining makes 2 the newest member
    let change = dc.remove_member(&n("1"), id, true, NOW).unwrap();
    assert_eq!(change.new_owner.as_deref(), Some("3"));
    assert_eq!(change.recipients, vec!["3", "2"]);
    let conv = dc.conversation(&n("2"), id).unwrap();
    assert_eq!(conv.owner, "3");
    assert_eq!(conv.messages.last().unwrap().event, Some(SystemEvent::Owner));
}

#[test]
fn last_member_leaving_deletes_everything_and_frees_the_code() {
    let mut dc = core();
    let code = JoinCode::parse("GONE1").unwrap();
    let id = dc.create_conversation(&n("1"), &name("A"), Some(&code), NOW).unwrap().id;
    dc.add_member(&n("2"), id, NOW).unwrap();
    dc.send_message(&n("2"), id, "hi", NOW).unwrap();
    dc.remove_member(&n("2"), id, true, NOW).unwrap();
    let change = dc.remove_member(&n("1"), id, true, NOW).unwrap();
    assert!(change.deleted);
    assert!(change.recipients.is_empty());
    let stats = dc.stats().unwrap();
    assert_eq!((stats.conversations, stats.memberships, stats.messages), (0, 0, 0));
    assert_eq!(dc.add_member(&n("1"), id, NOW).unwrap_err().code(), "conversation_not_found");
    let again = dc.create_conversation(&n("3"), &name("B"), Some(&code), NOW).unwrap();
    assert_ne!(again.id, id, "ids are never reused");
}

#[test]
fn read_state_follows_messages() {
    let mut dc = core();
    let id = dc.create_conversation(&n("1"), &name("A"), None, NOW).unwrap().id;
    dc.add_member(&n("2"), id, NOW).unwrap();
    // Being added by a script is news to the member; the creator has not read the join either.
    assert!(!dc.conversation(&n("2"), id).unwrap().is_it_read);
    dc.mark_read(&n("2"), id, None).unwrap();
    dc.mark_read(&n("1"), id, None).unwrap();
    let (message, members) = dc.send_message(&n("1"), id, "  hello  ", NOW + 5).unwrap();
    assert_eq!(message.content, "hello");
    assert_eq!(members, vec!["1", "2"]);
    assert!(dc.conversation(&n("1"), id).unwrap().is_it_read, "own messages are read");
    let seen_by_2 = dc.conversation(&n("2"), id).unwrap();
    assert!(!seen_by_2.is_it_read);
    assert_eq!(seen_by_2.unread_count, 1);
    assert_eq!(seen_by_2.updated_at, NOW + 5);
    dc.mark_read(&n("2"), id, Some(message.id)).unwrap();
    assert!(dc.conversation(&n("2"), id).unwrap().is_it_read);
}

#[test]
fn messages_page_back_exactly_once_in_order() {
    let mut dc = core();
    let id = dc.create_conversation(&n("1"), &name("A"), None, NOW).unwrap().id;
    for i in 0..237 {
        dc.send_message(&n("1"), id, &format!("m{i}"), NOW + i).unwrap();
    }
    let latest = dc.conversation(&n("1"), id).unwrap().messages;
    assert_eq!(latest.len(), Limits::default().page_size as usize);
    assert_eq!(latest.last().unwrap().content, "m236");
    let mut all = Vec::new();
    let mut before = None;
    // 237 messages in pages of 40 are 6 pages and an empty one: a paging bug that repeats or
    // never ends a page fails here instead of hanging the suite.
    for pages in 0.. {
        assert!(pages <= 7, "paging did not end after {pages} pages");
        let page = dc.messages_before(&n("1"), id, before, 40).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 40);
        assert!(
            before.is_none_or(|b| page.last().unwrap().id < b),
            "a page is not older than the last"
        );
        before = Some(page[0].id);
        all.splice(0..0, page);
    }
    let contents: Vec<String> = all.iter().map(|m| m.content.clone()).collect();
    let expected: Vec<String> = (0..237).map(|i| format!("m{i}")).collect();
    assert_eq!(contents, expected);
    assert_eq!(dc.messages_before(&n("2"), id, None, 10).unwrap_err().code(), "not_member");
}

#[test]
fn marking_read_past_the_newest_message_leaves_the_next_message_unread() {
    let mut dc = core();
    let id = dc.create_conversation(&n("1"), &name("A"), None, NOW).unwrap().id;
    dc.add_member(&n("2"), id, NOW).unwrap();
    let (newest, _) = dc.send_message(&n("1"), id, "newest", NOW + 1).unwrap();
    // A client naming a message that does not exist yet (or ever) reads up to the newest.
    for past in [newest.id.0 + 1, newest.id.0 + 1_000, i64::MAX].map(MessageId) {
        dc.mark_read(&n("2"), id, Some(past)).unwrap();
        let seen = dc.conversation(&n("2"), id).unwrap();
        assert!(seen.is_it_read);
        assert_eq!(seen.unread_count, 0);
    }
    dc.send_message(&n("1"), id, "next", NOW + 2).unwrap();
    let seen = dc.conversation(&n("2"), id).unwrap();
    assert!(!seen.is_it_read, "the message after the newest is news");
    assert_eq!(seen.unread_count, 1);
    let listed = dc.conversations_of(&n("2")).unwrap();
    assert_eq!((listed[0].is_it_read, listed[0].unread_count), (false, 1));
}

#[test]
fn unread_counts_go_past_a_hundred_and_stop_at_999() {
    let mut dc = core();
    let id = dc.create_conversation(&n("1"), &name("A"), None, NOW).unwrap().id;
    dc.add_member(&n("2"), id, NOW).unwrap();
    dc.mark_read(&n("2"), id, None).unwrap();
    let unread = |dc: &Darkchat| {
        let seen = dc.conversation(&n("2"), id).unwrap();
        let listed = dc.conversations_of(&n("2")).unwrap().remove(0);
        assert_eq!(listed.unread_count, seen.unread_count, "listing and conversation agree");
        assert_eq!(seen.is_it_read, seen.unread_count == 0);
        seen.unread_count
    };
    let mut sent = 0;
    for target in [101, 150, 998, 999, 1000, 1234] {
        while sent < target {
            sent += 1;
            dc.send_message(&n("1"), id, &format!("m{sent}"), NOW + sent).unwrap();
        }
        assert_eq!(unread(&dc), target.min(999), "after {target} unread messages");
    }
    // Reading part of the way counts what is left, capped the same way.
    let page = dc.messages_before(&n("2"), id, None, 100).unwrap();
    dc.mark_read(&n("2"), id, Some(page[0].id)).unwrap();
    assert_eq!(unread(&dc), 99);
    // The member's own message reads everything before it.
    dc.send_message(&n("2"), id, "caught up", NOW + 5000).unwrap();
    assert_eq!(unread(&dc), 0);
}

#[test]
fn messages_are_validated() {
    let mut dc = core();
    let id = dc.create_conversation(&n("1"), &name("A"), None, NOW).unwrap().id;
    for bad in ["", "   ", &"x".repeat(1001)] {
        assert_eq!(dc.send_message(&n("1"), id, bad, NOW).unwrap_err().code(), "invalid_argument");
    }
    assert_eq!(dc.send_message(&n("2"), id, "hi", NOW).unwrap_err().code(), "not_member");
    assert_eq!(dc.stats().unwrap().messages, 0);
}

#[test]
fn join_by_code_is_case_insensitive_and_reads_up_to_the_join() {
    let mut dc = core();
    let conv = dc.create_conversation(&n("1"), &name("A"), None, NOW).unwrap();
    let code = JoinCode::parse(&conv.join_code.to_lowercase()).unwrap();
    let (seen, change) = dc.join_by_code(&n("2"), &code, NOW).unwrap();
    assert_eq!(seen.id, conv.id);
    assert!(seen.is_it_read);
    assert_eq!(change.recipients, vec!["1", "2"]);
    assert_eq!(dc.join_by_code(&n("2"), &code, NOW).unwrap_err().code(), "already_member");
    let wrong = JoinCode::parse("ZZZZ").unwrap();
    assert_eq!(dc.join_by_code(&n("3"), &wrong, NOW).unwrap_err().code(), "conversation_not_found");
}

#[test]
fn owner_actions_are_for_the_owner_and_admins() {
    let mut dc = core();
    let conv = dc.create_conversation(&n("1"), &name("A"), None, NOW).unwrap();
    let id = conv.id;
    dc.add_member(&n("2"), id, NOW).unwrap();
    let (two, three) = (n("2"), n("3"));
    assert_eq!(
        dc.rename(Actor::Member(&two), id, &name("B"), NOW).unwrap_err().code(),
        "forbidden"
    );
    assert_eq!(
        dc.rename(Actor::Member(&three), id, &name("B"), NOW).unwrap_err().code(),
        "not_member"
    );
    assert_eq!(dc.regenerate_code(Actor::Member(&two), id).unwrap_err().code(), "forbidden");
    assert_eq!(dc.delete(Actor::Member(&two), id).unwrap_err().code(), "forbidden");
    assert_eq!(
        dc.transfer_ownership(Actor::Member(&two), id, &two, NOW).unwrap_err().code(),
        "forbidden"
    );

    let one = n("1");
    let (renamed, _) = dc.rename(Actor::Member(&one), id, &name("Renamed"), NOW).unwrap();
    assert_eq!(renamed.event, Some(SystemEvent::Renamed));
    let code = dc.regenerate_code(Actor::Member(&one), id).unwrap();
    assert_ne!(code, conv.join_code);
    let old = JoinCode::parse(&conv.join_code).unwrap();
    assert_eq!(dc.join_by_code(&three, &old, NOW).unwrap_err().code(), "conversation_not_found");
    assert_eq!(
        dc.transfer_ownership(Actor::Member(&one), id, &three, NOW).unwrap_err().code(),
        "not_member"
    );
    dc.transfer_ownership(Actor::Member(&one), id, &two, NOW).unwrap();
    assert_eq!(dc.conversation(&one, id).unwrap().owner, "2");
    assert_eq!(dc.delete(Actor::Member(&one), id).unwrap_err().code(), "forbidden");
    dc.rename(Actor::Admin, id, &name("Admin did it"), NOW).unwrap();
    assert_eq!(dc.delete(Actor::Admin, id).unwrap(), vec!["1", "2"]);
    assert_eq!(dc.stats().unwrap().conversations, 0);
}

#[test]
fn listing_is_most_recent_first_with_the_last_message() {
    let mut dc = core();
    let a = dc.create_conversation(&n("1"), &name("A"), None, NOW).unwrap().id;
    let b = dc.create_conversation(&n("1"), &name("B"), None, NOW + 1).unwrap().id;
    dc.add_member(&n("2"), a, NOW + 2).unwrap();
    dc.send_message(&n("2"), a, "newest", NOW + 3).unwrap();
    let list = dc.conversations_of(&n("1")).unwrap();
    assert_eq!(list.iter().map(|c| c.id).collect::<Vec<_>>(), vec![a, b]);
    assert_eq!(list[0].messages.len(), 1);
    assert_eq!(list[0].messages[0].content, "newest");
    assert!(!list[0].is_it_read);
    assert_eq!(list[0].unread_count, 2);
    assert!(list[1].is_it_read);
    assert!(dc.conversations_of(&n("404")).unwrap().is_empty());
}

#[test]
fn listing_breaks_ties_by_newest_id_and_keeps_only_the_most_recent_max_list() {
    let limits = Limits { max_list: 3, ..Limits::default() };
    let mut dc = Darkchat::new(Store::open_in_memory().unwrap(), limits, [9; 32]);
    let ids: Vec<ConversationId> = (0..5)
        .map(|i| dc.create_conversation(&n("1"), &name(&format!("C{i}")), None, NOW).unwrap().id)
        .collect();
    // Same second everywhere: the newer conversation comes first.
    let listed = |dc: &Darkchat| {
        dc.conversations_of(&n("1")).unwrap().iter().map(|c| c.id).collect::<Vec<_>>()
    };
    assert_eq!(listed(&dc), vec![ids[4], ids[3], ids[2]]);
    // Activity moves the oldest to the front; the cut keeps the three most recent.
    dc.send_message(&n("1"), ids[0], "bump", NOW + 1).unwrap();
    assert_eq!(listed(&dc), vec![ids[0], ids[4], ids[3]]);
}

#[test]
fn the_listed_last_message_is_the_newest_message_of_each_kind() {
    let mut dc = core();
    let a = dc.create_conversation(&n("1"), &name("A"), None, NOW).unwrap().id;
    let newest = |dc: &Darkchat| dc.conversation(&n("1"), a).unwrap().messages.pop();
    let listed = |dc: &Darkchat| dc.conversations_of(&n("1")).unwrap().remove(0).messages;
    assert!(listed(&dc).is_empty());
    dc.add_member(&n("2"), a, NOW + 1).unwrap();
    dc.send_message(&n("2"), a, "text", NOW + 2).unwrap();
    assert_eq!(listed(&dc), newest(&dc).into_iter().collect::<Vec<_>>());
    dc.remove_member(&n("2"), a, true, NOW + 3).unwrap();
    let last = listed(&dc);
    assert_eq!(last, newest(&dc).into_iter().collect::<Vec<_>>());
    assert_eq!(last[0].kind, MessageKind::System);
    assert_eq!(last[0].event, Some(SystemEvent::Left));
    assert_eq!(last[0].sender.as_deref(), Some("2"));
    assert_eq!(last[0].created_at, NOW + 3);
    let admin = dc.all_conversations(10).unwrap();
    assert_eq!(admin[0].messages, last);
}

#[test]
fn upgrading_a_version_1_database_keeps_everything_and_fills_the_last_message() {
    use darkchat::store::migrations::MIGRATIONS;
    let dir = scratch::Scratch::new("upgrade");
    let path = dir.join("v1.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0].1).unwrap();
        conn.execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO phones (id, number) VALUES (1, '5550001'), (2, '5550002');
             INSERT INTO conversations (id, name, created_by, owner_id, join_code, created_at,
                 updated_at, last_message_id) VALUES (7, 'Old', 1, 1, 'OLD123', 10, 12, 3),
                 (8, 'Quiet', 2, 2, 'QUIET1', 10, 10, 0);
             INSERT INTO members (conversation_id, phone_id, joined_at) VALUES (7, 1, 10), (7, 2, 11),
                 (8, 2, 10);
             INSERT INTO messages (id, conversation_id, sender_id, kind, event, content, created_at)
                 VALUES (1, 7, 2, 'system', 'joined', '5550002 joined', 11),
                        (2, 7, 1, 'text', NULL, 'first', 11), (3, 7, 2, 'text', NULL, 'second', 12);",
        )
        .unwrap();
    }
    let dc = Darkchat::new(Store::open(&path).unwrap(), Limits::default(), [5; 32]);
    assert_eq!(dc.store().schema_version().unwrap(), MIGRATIONS.len() as i64);
    let list = dc.conversations_of(&n("5550002")).unwrap();
    assert_eq!(list.iter().map(|c| c.id.get()).collect::<Vec<_>>(), vec![7, 8]);
    assert_eq!(list[0].messages.len(), 1);
    assert_eq!(list[0].messages[0].id, MessageId(3));
    assert_eq!(list[0].messages[0].content, "second");
    assert_eq!(list[0].messages[0].sender.as_deref(), Some("5550002"));
    assert_eq!(list[0].messages[0].kind, MessageKind::Text);
    assert!(list[1].messages.is_empty());
    let page = dc.messages_before(&n("5550001"), ConversationId(7), None, 10).unwrap();
    assert_eq!(page.iter().map(|m| m.id.get()).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(dc.integrity_check().unwrap(), "ok");
}

#[test]
fn limits_are_enforced() {
    let limits = Limits { max_members: 2, max_conversations_per_number: 2, ..Limits::default() };
    let mut dc = Darkchat::new(Store::open_in_memory().unwrap(), limits, [1; 32]);
    let id = dc.create_conversation(&n("1"), &name("A"), None, NOW).unwrap().id;
    dc.add_member(&n("2"), id, NOW).unwrap();
    assert_eq!(dc.add_member(&n("3"), id, NOW).unwrap_err().code(), "forbidden");
    dc.create_conversation(&n("1"), &name("B"), None, NOW).unwrap();
    assert_eq!(
        dc.create_conversation(&n("1"), &name("C"), None, NOW).unwrap_err().code(),
        "forbidden"
    );
}

#[test]
fn standalone_numbers_are_stable_and_unique() {
    let mut dc = core();
    let a = dc.standalone_number("license:aaa", NOW).unwrap();
    assert_eq!(dc.standalone_number("license:aaa", NOW).unwrap(), a);
    let b = dc.standalone_number("license:bbb", NOW).unwrap();
    assert_ne!(a, b);
    assert_eq!(a.len(), 7);
    assert_eq!(dc.standalone_number("", NOW).unwrap_err().code(), "invalid_argument");
}

#[test]
fn a_member_without_an_alias_gets_a_plain_generated_one_while_one_is_free() {
    let mut dc = core();
    let conv = dc.create_conversation(&n("5550101"), &name("Crew"), None, NOW).unwrap();
    let code = JoinCode::parse(&conv.join_code).unwrap();
    let (_, joined) = dc.join_by_code(&n("5550102"), &code, NOW).unwrap();
    let added = dc.add_member(&n("5550103"), conv.id, NOW).unwrap();
    // "Adjective Noun": a number follows only once the plain ones drawn were taken.
    for alias in [joined.alias, added.alias] {
        assert_eq!(alias.split(' ').count(), 2, "{alias}");
        assert!(!alias.chars().any(|c| c.is_ascii_digit()), "{alias}");
    }
}

#[test]
fn a_member_holding_the_next_generated_alias_makes_the_add_draw_another() {
    // Two cores on the same seed draw the same aliases: the twin shows which alias the next
    // generated one is, then a member takes it by choice (drawing nothing) on the other core.
    let (mut dc, mut twin) = (core(), core());
    let conv = dc.create_conversation(&n("5550101"), &name("Crew"), None, NOW).unwrap();
    twin.create_conversation(&n("5550101"), &name("Crew"), None, NOW).unwrap();
    let next = twin.add_member(&n("5550103"), conv.id, NOW).unwrap().alias;
    let code = JoinCode::parse(&conv.join_code).unwrap();
    let chosen = Alias::parse(&next).unwrap();
    dc.join_as(&n("5550102"), &code, Some(&chosen), NOW).unwrap();

    // The first candidate is taken: the add must judge each later candidate on its own.
    let added = dc.add_member(&n("5550103"), conv.id, NOW).unwrap();
    assert_ne!(added.alias.to_lowercase(), next.to_lowercase());
    let aliases: Vec<_> = dc.members(None, conv.id).unwrap().into_iter().map(|m| m.alias).collect();
    assert_eq!(aliases.len(), 3);
    assert!(aliases.contains(&next) && aliases.contains(&added.alias), "{aliases:?}");
}

#[test]
fn granting_and_revoking_a_moderator_say_which_it_was() {
    let mut dc = core();
    let conv = dc.create_conversation(&n("5550101"), &name("Crew"), None, NOW).unwrap();
    let alias = dc.add_member(&n("5550102"), conv.id, NOW).unwrap().alias;
    let mut set = |on| {
        let (note, _) = dc.set_moderator(Actor::Admin, conv.id, &n("5550102"), on, NOW).unwrap();
        note.unwrap().content
    };
    assert_eq!(set(true), format!("{alias} is now a moderator"));
    assert_eq!(set(false), format!("{alias} is no longer a moderator"));
}

#[test]
fn a_standalone_license_is_1_to_128_characters_without_control_characters() {
    let mut dc = core();
    let longest = "x".repeat(128);
    assert_eq!(dc.standalone_number(&longest, NOW).unwrap().len(), 7);
    for refused in ["x".repeat(129), "license:\u{7f}".to_owned(), "license:\n".to_owned()] {
        let err = dc.standalone_number(&refused, NOW).unwrap_err();
        assert_eq!(err.to_string(), "invalid argument: license", "{refused:?}");
    }
}

#[test]
fn everything_survives_reopening_the_file() {
    let dir = scratch::Scratch::new("core");
    let path = dir.join("nested/d.db");
    let id = {
        let mut dc = Darkchat::new(Store::open(&path).unwrap(), Limits::default(), [3; 32]);
        let id = dc.create_conversation(&n("1"), &name("Kept"), None, NOW).unwrap().id;
        dc.send_message(&n("1"), id, "still here", NOW).unwrap();
        id
    };
    let dc = Darkchat::new(Store::open(&path).unwrap(), Limits::default(), [4; 32]);
    let conv = dc.conversation(&n("1"), id).unwrap();
    assert_eq!(conv.name, "Kept");
    assert_eq!(conv.messages[0].content, "still here");
    assert_eq!(dc.integrity_check().unwrap(), "ok");
}

#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_alone() {
    let dir = scratch::Scratch::new("corrupt");
    let path = dir.join("d.db");
    let garbage = b"this is not an sqlite file, but it is somebody's data".repeat(100);
    std::fs::write(&path, &garbage).unwrap();
    let err = Store::open(&path).err().expect("must refuse");
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("not a database"), "{text}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}

#[test]
fn only_the_owner_removes_others() {
    let mut dc = core();
    let id = dc.create_conversation(&n("1"), &name("A"), None, NOW).unwrap().id;
    dc.add_member(&n("2"), id, NOW).unwrap();
    dc.add_member(&n("3"), id, NOW).unwrap();
    let (one, two, three) = (n("1"), n("2"), n("3"));
    let kick =
        |dc: &mut Darkchat, actor, number: &PhoneNumber| dc.kick(actor, id, number, false, NOW);
    assert_eq!(kick(&mut dc, Actor::Member(&two), &three).unwrap_err().code(), "forbidden");
    assert_eq!(kick(&mut dc, Actor::Member(&one), &one).unwrap_err().code(), "forbidden");
    assert_eq!(kick(&mut dc, Actor::Member(&one), &n("4")).unwrap_err().code(), "not_member");
    let change = kick(&mut dc, Actor::Member(&one), &three).unwrap();
    assert_eq!(change.message.unwrap().event, Some(SystemEvent::Removed));
    assert_eq!(change.recipients, vec!["1", "2"]);
    kick(&mut dc, Actor::Admin, &one).unwrap();
    assert_eq!(dc.conversation(&two, id).unwrap().owner, "2");
}

#[test]
fn bans_are_bounded_per_conversation_and_a_refused_ban_removes_nobody() {
    let limits = Limits { max_bans: 1, ..Limits::default() };
    let mut dc = Darkchat::new(Store::open_in_memory().unwrap(), limits, [3; 32]);
    let id = dc.create_conversation(&n("1"), &name("A"), None, NOW).unwrap().id;
    for number in ["2", "3", "4"] {
        dc.add_member(&n(number), id, NOW).unwrap();
    }
    dc.kick(Actor::Member(&n("1")), id, &n("2"), true, NOW).unwrap();
    let err = dc.kick(Actor::Member(&n("1")), id, &n("3"), true, NOW).unwrap_err();
    assert_eq!(err.code(), "forbidden");
    assert_eq!(dc.conversation(&n("1"), id).unwrap().recipients, vec!["1", "3", "4"]);
    assert_eq!(dc.bans(Actor::Admin, id).unwrap().len(), 1);
    // A removal without a ban is still possible, and lifting a ban makes room.
    dc.kick(Actor::Member(&n("1")), id, &n("3"), false, NOW).unwrap();
    dc.unban(Actor::Admin, id, &n("2")).unwrap();
    dc.kick(Actor::Member(&n("1")), id, &n("4"), true, NOW).unwrap();
    assert_eq!(dc.add_member(&n("4"), id, NOW).unwrap_err().code(), "banned");
    assert_eq!(dc.add_member(&n("2"), id, NOW).unwrap().recipients, vec!["1", "2"]);
}

#[test]
fn moderators_remove_ordinary_members_only_and_the_last_member_leaving_drops_the_bans() {
    let mut dc = core();
    let (one, two, three, four) = (n("1"), n("2"), n("3"), n("4"));
    let id = dc.create_conversation(&one, &name("A"), None, NOW).unwrap().id;
    for number in [&two, &three, &four] {
        dc.add_member(number, id, NOW).unwrap();
    }
    let owner = Actor::Member(&one);
    dc.set_moderator(owner, id, &two, true, NOW).unwrap();
    dc.set_moderator(owner, id, &three, true, NOW).unwrap();
    let moderator = Actor::Member(&two);
    assert_eq!(dc.kick(moderator, id, &one, true, NOW).unwrap_err().code(), "forbidden");
    assert_eq!(dc.kick(moderator, id, &three, true, NOW).unwrap_err().code(), "forbidden");
    assert_eq!(dc.set_moderator(moderator, id, &four, true, NOW).unwrap_err().code(), "forbidden");
    assert_eq!(dc.unban(moderator, id, &four).unwrap_err().code(), "forbidden");
    dc.kick(moderator, id, &four, true, NOW).unwrap();
    assert_eq!(dc.bans(owner, id).unwrap()[0].number, "4");
    let (note, members) = dc.set_moderator(owner, id, &two, false, NOW).unwrap();
    assert_eq!(note.unwrap().event, Some(SystemEvent::Moderator));
    assert!(!members[1].is_moderator);
    assert_eq!(dc.kick(moderator, id, &three, false, NOW).unwrap_err().code(), "forbidden");
    for number in [&one, &two, &three] {
        dc.remove_member(number, id, true, NOW).unwrap();
    }
    let bans: i64 =
        dc.store().connection().query_row("SELECT count(*) FROM bans", [], |r| r.get(0)).unwrap();
    assert_eq!(bans, 0, "bans go with their conversation");
}

/// A call through the one dispatch of the hosts, at time `now`.
fn call(
    dc: &mut Darkchat,
    method: &str,
    args: &[darkchat::api::Arg],
    now: i64,
) -> Result<(), String> {
    darkchat::api::call(dc, method, args, now).map(|_| ()).map_err(|e| e.code().to_owned())
}

#[test]
fn a_message_may_be_edited_within_the_window_only() {
    use darkchat::api::Arg::{Int, Str};
    let mut dc = core();
    let owner = || Str("5550101".into());
    let text = |t: &str| Str(t.into());
    call(&mut dc, "create", &[owner(), text("Crew")], NOW).unwrap();
    call(&mut dc, "send", &[owner(), Int(1), text("helo")], NOW).unwrap();
    let edit = |dc: &mut Darkchat, at: i64| {
        call(dc, "editMessage", &[owner(), Int(1), Int(1), text("hello")], at)
    };
    assert_eq!(edit(&mut dc, NOW + 300), Ok(()), "the last second of the default 300 s");
    assert_eq!(edit(&mut dc, NOW + 301), Err("forbidden".into()));
    let page = dc.messages_before(&n("5550101"), ConversationId(1), None, 10).unwrap();
    assert_eq!((page[0].content.as_str(), page[0].extra.edited_at), ("hello", Some(NOW + 300)));

    let limits = Limits { edit_window_seconds: 10, ..Limits::default() };
    let mut short = Darkchat::new(Store::open_in_memory().unwrap(), limits, [7; 32]);
    call(&mut short, "create", &[owner(), text("Crew")], NOW).unwrap();
    call(&mut short, "send", &[owner(), Int(1), text("helo")], NOW).unwrap();
    assert_eq!(edit(&mut short, NOW + 11), Err("forbidden".into()));
    assert_eq!(edit(&mut short, NOW + 10), Ok(()));
}

#[test]
fn deleting_overwrites_the_text_and_every_quote_of_it() {
    use darkchat::api::Arg::{Int, Nil, Str};
    let mut dc = core();
    let s = |t: &str| Str(t.into());
    call(&mut dc, "create", &[s("5550101"), s("Crew")], NOW).unwrap();
    call(&mut dc, "send", &[s("5550101"), Int(1), s("the secret")], NOW).unwrap();
    call(&mut dc, "send", &[s("5550101"), Int(1), s("quoting it"), Int(1)], NOW).unwrap();
    call(&mut dc, "send", &[s("5550101"), Int(1), s("and again"), Int(1)], NOW).unwrap();
    call(&mut dc, "deleteMessage", &[Nil, Int(1), Int(1)], NOW + 5).unwrap();
    let page = dc.messages_before(&n("5550101"), ConversationId(1), None, 10).unwrap();
    assert_eq!(page.len(), 3, "the tombstone keeps its place");
    assert_eq!((page[0].content.as_str(), page[0].extra.deleted_at), ("", Some(NOW + 5)));
    assert_eq!(page[0].created_at, NOW);
    for reply in &page[1..] {
        let quote = reply.extra.reply_to.as_ref().unwrap();
        assert_eq!((quote.content.as_str(), quote.deleted), ("", true));
    }
    // Every stored cell of every message row, as the storage move reads them.
    let rows = darkchat::api::call(&mut dc, "exportRows", &[s("messages"), Nil, Int(100)], NOW);
    let rows = format!("{:?}", rows.unwrap());
    assert!(rows.contains("quoting it") && !rows.contains("secret"), "{rows}");
}

/// A sweep step says when the database's log has grown past the length given (by default the
/// 64 MiB it is cut back to), so that the pacer waits for the checkpointer instead of writing
/// the log into the cap where every writer is held back; once the sweep pauses, the
/// checkpointer restarts the log and the next step is no longer behind.
#[test]
fn a_sweep_step_says_when_the_log_is_behind_and_a_pause_lets_it_catch_up() {
    use darkchat::storage::run_inline;
    use darkchat::StoreOptions;
    let dir = scratch::Scratch::new("sweep-behind");
    let with = |behind_bytes| {
        let options = StoreOptions { log_behind_bytes: behind_bytes, ..StoreOptions::default() };
        Darkchat::new(
            Store::open_with(dir.join("d.db"), &options).unwrap(),
            Limits::default(),
            [3; 32],
        )
    };
    let owner = n("5550101");
    let (later, text) = (NOW + 7200, "x".repeat(400));
    let fill = |dc: &mut Darkchat| {
        let conv = dc.create_conversation(&owner, &name("Old"), None, NOW).unwrap();
        for _ in 0..300 {
            dc.send_message(&owner, conv.id, &text, NOW).unwrap();
        }
        run_inline(dc.service().set_retention(Actor::Member(&owner), conv.id, 3600, later))
            .unwrap();
    };
    // The default: 200 deletions are far from 64 MiB of log.
    let mut dc = with(StoreOptions::default().log_behind_bytes);
    fill(&mut dc);
    let step = run_inline(dc.service().sweep_expired(later, 0, 200)).unwrap();
    assert_eq!((step.deleted, step.behind), (200, false));
    drop(dc);
    // 64 KiB: the step's own commit leaves more log than that.
    let mut dc = with(64 * 1024);
    fill(&mut dc);
    let step = run_inline(dc.service().sweep_expired(later, 0, 200)).unwrap();
    assert_eq!(step.deleted, 200);
    assert!(step.behind, "200 deletions of 400-byte messages left the log under 64 KiB");
    // Paused, the checkpointer copies and restarts the log (it runs every 250 ms); a step
    // that then deletes little leaves a short log.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        std::thread::sleep(std::time::Duration::from_millis(300));
        let step = run_inline(dc.service().sweep_expired(later, 0, 1)).unwrap();
        assert_eq!(step.deleted, 1);
        if !step.behind {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the log stayed behind for 20 s of pauses");
    }
}

/// A step reads up to 64 conversations without a lock and sweeps only those with something
/// due: under the server's age cap, 130 conversations of which two hold an expired message take
/// three steps (eight conversations a step before), each due one swept in the step that reads
/// it and the rest left as they were.
#[test]
fn a_sweep_round_passes_over_conversations_with_nothing_due() {
    use darkchat::storage::run_inline;
    let limits = Limits {
        max_message_age_seconds: 3600,
        max_conversations_per_number: 1000,
        ..Limits::default()
    };
    let mut dc = Darkchat::new(Store::open_in_memory().unwrap(), limits, [7; 32]);
    let owner = n("5550101");
    let later = NOW + 7200;
    let mut ids = Vec::new();
    for c in 0..130 {
        let conv = dc.create_conversation(&owner, &name(&format!("C{c}")), None, NOW).unwrap();
        if c == 10 || c == 100 {
            dc.send_message(&owner, conv.id, "old", NOW).unwrap();
        }
        dc.send_message(&owner, conv.id, "new", later - 10).unwrap();
        ids.push(conv.id);
    }
    let step = |dc: &mut Darkchat, after| {
        let s = run_inline(dc.service().sweep_expired(later, after, 50)).unwrap();
        (s.deleted, s.conversations, s.next, s.more)
    };
    assert_eq!(step(&mut dc, 0), (1, vec![ids[10]], ids[63].get(), true));
    assert_eq!(step(&mut dc, ids[63].get()), (1, vec![ids[100]], ids[127].get(), true));
    assert_eq!(step(&mut dc, ids[127].get()), (0, vec![], 0, false));
    assert_eq!(dc.stats().unwrap().messages, 130);
    let listed = dc.conversations_of(&owner).unwrap();
    assert!(listed.iter().all(|c| c.messages.len() == 1 && c.messages[0].content == "new"));
}

/// A sweep step reads at most 8 conversations and deletes at most its batch, whatever is due:
/// 20 conversations of 30 expired messages each take steps that each stop at one bound, and
/// the round ends with every expired message gone and the rest (the system messages written
/// after the clock moved) kept.
#[test]
fn a_sweep_step_is_bounded_by_conversations_and_by_its_batch() {
    use darkchat::storage::run_inline;
    let mut dc = core();
    let owner = n("5550101");
    let mut ids = Vec::new();
    for c in 0..20 {
        let conv = dc.create_conversation(&owner, &name(&format!("C{c}")), None, NOW).unwrap();
        for i in 0..30 {
            dc.send_message(&owner, conv.id, &format!("m{i}"), NOW).unwrap();
        }
        ids.push(conv.id);
    }
    let later = NOW + 7200;
    for &id in &ids {
        run_inline(dc.service().set_retention(Actor::Member(&owner), id, 3600, later)).unwrap();
    }
    // A batch larger than everything due: the conversation bound stops the step.
    let step = run_inline(dc.service().sweep_expired(later, 0, 5000)).unwrap();
    assert_eq!(step.conversations, ids[..8].to_vec());
    assert_eq!(step.deleted, 8 * 30);
    assert!(step.more);
    assert_eq!(step.next, ids[7].get());
    // A small batch: the step stops inside a conversation and the next starts there again.
    let step = run_inline(dc.service().sweep_expired(later, step.next, 45)).unwrap();
    assert_eq!((step.deleted, step.conversations.clone()), (45, vec![ids[8], ids[9]]));
    assert_eq!(step.next, ids[9].get() - 1);
    let mut after = step.next;
    let mut steps = 2;
    loop {
        let step = run_inline(dc.service().sweep_expired(later, after, 45)).unwrap();
        assert!(step.deleted <= 45 && step.conversations.len() <= 8);
        steps += 1;
        if !step.more {
            assert_eq!(step.next, 0);
            break;
        }
        after = step.next;
    }
    assert!(steps < 20, "{steps} steps");
    // Only the retention notes are left, one per conversation, each the listed message.
    assert_eq!(dc.stats().unwrap().messages, 20);
    let listed = dc.conversations_of(&owner).unwrap();
    assert!(listed.iter().all(|c| c.messages.len() == 1
        && c.messages[0].event == Some(SystemEvent::Retention)
        && c.retention_seconds == 3600));
}

/// The storage move (`darkchat migrate-storage`) through the dispatch, between two SQLite stores:
/// every table's rows exported from one and imported into an empty one give the same counts, a
/// sequence raised to the source's high-water mark keeps an id whose row was deleted from being
/// handed out again, and deleting every row (undoing a move) empties the copy.
#[test]
fn a_storage_move_copies_every_row_keeps_the_high_water_marks_and_can_be_undone() {
    use darkchat::api::{call, Arg, Reply};
    let s = |t: &str| Arg::Str(t.into());
    let ok = |dc: &mut Darkchat, method: &str, args: &[Arg]| {
        call(dc, method, args, NOW).unwrap_or_else(|e| panic!("{method}: {e}"))
    };
    let mut from = core();
    let kept = from.create_conversation(&n("5550101"), &name("Kept"), None, NOW).unwrap();
    from.send_message(&n("5550101"), kept.id, "hello", NOW).unwrap();
    let gone = from.create_conversation(&n("5550102"), &name("Gone"), None, NOW).unwrap();
    ok(&mut from, "delete", &[Arg::Nil, Arg::Int(gone.id.get())]);
    ok(&mut from, "staffBan", &[s("5550103")]);

    let mut to = core();
    let tables = ["phones", "conversations", "members", "messages", "bans", "staff_bans"];
    for table in tables {
        let rows = ok(&mut from, "exportRows", &[s(table), Arg::Nil, Arg::Int(1000)]);
        let json = serde_json::to_string(&rows[0]).unwrap();
        ok(&mut to, "importRows", &[s(table), Arg::Str(json)]);
    }
    let counts = ok(&mut from, "tableCounts", &[]);
    assert_eq!(ok(&mut to, "tableCounts", &[]), counts);
    let Reply::Array(marks) = &ok(&mut from, "sequences", &[])[0] else { panic!("sequences") };
    for mark in marks {
        let Reply::Array(pair) = mark else { panic!("{mark:?}") };
        let (Reply::Str(table), Reply::Int(high_water)) = (&pair[0], &pair[1]) else {
            panic!("{pair:?}")
        };
        ok(&mut to, "raiseSequence", &[s(table), Arg::Int(*high_water)]);
    }
    assert_eq!(ok(&mut to, "sequences", &[]), ok(&mut from, "sequences", &[]));
    let next = to.create_conversation(&n("5550101"), &name("Next"), None, NOW).unwrap();
    assert!(next.id > gone.id, "the deleted conversation's id {} came back", gone.id);

    ok(&mut to, "deleteAllRows", &[]);
    let Reply::Array(left) = &ok(&mut to, "tableCounts", &[])[0] else { panic!("tableCounts") };
    for pair in left {
        let Reply::Array(pair) = pair else { panic!("{pair:?}") };
        assert_eq!(pair[1], Reply::Int(0), "{pair:?}");
    }
}
