//! Staff bans, reports and the word filter through the one dispatch both cores share
//! (`darkchat::api::call`), at times chosen here: a ban's end, the bounds, what a report keeps.

use std::sync::Arc;

use darkchat::api::{call, Arg, Reply};
use darkchat::filter::{Filter, FilterMode};
use darkchat::{Darkchat, Limits, Store};

const NOW: i64 = 1_700_000_000;

fn core(limits: Limits) -> Darkchat {
    Darkchat::new(Store::open_in_memory().unwrap(), limits, [5; 32])
}

fn s(text: &str) -> Arg {
    Arg::Str(text.into())
}

fn ok(dc: &mut Darkchat, method: &str, args: &[Arg], now: i64) -> Vec<Reply> {
    call(dc, method, args, now).unwrap_or_else(|e| panic!("{method}: {e}"))
}

fn refused(dc: &mut Darkchat, method: &str, args: &[Arg], now: i64) -> &'static str {
    match call(dc, method, args, now) {
        Ok(reply) => panic!("{method} answered {reply:?}"),
        Err(e) => e.code(),
    }
}

fn get<'r>(reply: &'r Reply, key: &str) -> &'r Reply {
    let Reply::Object(fields) = reply else { panic!("not an object: {reply:?}") };
    fields.iter().find(|(k, _)| k.to_str() == Ok(key)).map(|(_, v)| v).unwrap_or(&Reply::Null)
}

fn int(reply: &Reply) -> i64 {
    let Reply::Int(n) = reply else { panic!("not an integer: {reply:?}") };
    *n
}

fn text(reply: &Reply) -> &str {
    let Reply::Str(t) = reply else { panic!("not a string: {reply:?}") };
    t
}

fn list(reply: &Reply) -> &[Reply] {
    let Reply::Array(items) = reply else { panic!("not an array: {reply:?}") };
    items
}

/// A conversation of "1" (owner) and "2"; returns its id and join code.
fn crew(dc: &mut Darkchat) -> (i64, String) {
    let created = ok(dc, "create", &[s("1"), s("Crew")], NOW);
    let (id, code) = (int(get(&created[0], "id")), text(get(&created[0], "joinCode")).to_owned());
    ok(dc, "add", &[s("2"), Arg::Int(id)], NOW);
    (id, code)
}

#[test]
fn a_staff_ban_holds_until_its_end_then_nothing_is_refused() {
    let mut dc = core(Limits::default());
    let (id, code) = crew(&mut dc);
    let ban = ok(&mut dc, "staffBan", &[s("2"), s("30m"), s("spam")], NOW);
    assert_eq!(int(get(&ban[0], "expiresAt")), NOW + 1800);
    assert_eq!(text(get(&ban[0], "reason")), "spam");
    let send = [s("2"), Arg::Int(id), s("hi")];
    let before_end = NOW + 1799;
    assert_eq!(refused(&mut dc, "send", &send, before_end), "forbidden");
    assert_eq!(refused(&mut dc, "list", &[s("2")], before_end), "forbidden");
    assert_eq!(
        refused(&mut dc, "remove", &[s("2"), Arg::Int(id), Arg::Bool(true)], before_end),
        "forbidden"
    );
    assert_eq!(refused(&mut dc, "join", &[s("2"), s(&code)], before_end), "banned");
    assert_eq!(list(&ok(&mut dc, "staffBans", &[], before_end)[0]).len(), 1);
    // A rehearsal (what hooks are shown) answers as the call would.
    assert_eq!(
        refused(&mut dc, "rehearse", &[s("send"), s("2"), Arg::Int(id), s("hi")], before_end),
        "forbidden"
    );
    // Others act on the banned number: an admin, the owner.
    ok(&mut dc, "conversation", &[Arg::Nil, Arg::Int(id)], before_end);
    ok(&mut dc, "send", &[s("1"), Arg::Int(id), s("still here")], before_end);
    // At its end the ban is over, without anyone lifting it.
    let at_end = NOW + 1800;
    ok(&mut dc, "send", &send, at_end);
    assert!(list(&ok(&mut dc, "staffBans", &[], at_end)[0]).is_empty());
    assert_eq!(refused(&mut dc, "staffUnban", &[s("2")], at_end), "not_member");
}

#[test]
fn staff_banned_names_the_numbers_banned_now_in_the_order_asked() {
    let mut dc = core(Limits::default());
    ok(&mut dc, "staffBan", &[s("4"), s("permanent")], NOW);
    ok(&mut dc, "staffBan", &[s("2"), s("30m")], NOW);
    let asked = [s("1"), s("2"), s("3"), s("4")];
    let banned = |dc: &mut Darkchat, now| -> Vec<String> {
        list(&ok(dc, "staffBanned", &asked, now)[0]).iter().map(|r| text(r).to_owned()).collect()
    };
    assert_eq!(banned(&mut dc, NOW + 1799), ["2", "4"]);
    assert_eq!(banned(&mut dc, NOW + 1800), ["4"], "the 30 minutes are over");
    ok(&mut dc, "staffUnban", &[s("4")], NOW + 1800);
    assert!(banned(&mut dc, NOW + 1800).is_empty());
}

#[test]
fn staff_bans_are_bounded_a_second_ban_replaces_the_first_and_ended_ones_make_room() {
    let mut dc = core(Limits { max_staff_bans: 2, ..Limits::default() });
    ok(&mut dc, "staffBan", &[s("1"), Arg::Int(3600)], NOW);
    ok(&mut dc, "staffBan", &[s("2")], NOW);
    assert_eq!(refused(&mut dc, "staffBan", &[s("3")], NOW), "forbidden");
    // The same number again replaces its ban: no room needed.
    let again = ok(&mut dc, "staffBan", &[s("1"), s("permanent"), s("worse")], NOW + 5);
    assert_eq!(get(&again[0], "expiresAt"), &Reply::Null);
    let bans = ok(&mut dc, "staffBans", &[], NOW + 5);
    assert_eq!(list(&bans[0]).len(), 2);
    assert_eq!(text(get(&list(&bans[0])[0], "reason")), "worse", "newest first");
    ok(&mut dc, "staffUnban", &[s("1")], NOW + 6);
    ok(&mut dc, "staffBan", &[s("3"), s("1h")], NOW + 6);
    assert_eq!(refused(&mut dc, "staffBan", &[s("4")], NOW + 7), "forbidden");
    // An ended ban is deleted by the next ban and makes room.
    ok(&mut dc, "staffBan", &[s("4")], NOW + 6 + 3600);
    for bad in [s("0s"), s("soon"), Arg::Int(0), Arg::Int(-5), Arg::Float(1.5), Arg::Bool(true)] {
        assert_eq!(
            refused(&mut dc, "staffBan", &[s("5"), bad.clone()], NOW),
            "invalid_argument",
            "{bad:?}"
        );
    }
    assert_eq!(refused(&mut dc, "staffBan", &[s("5"), Arg::Nil, s(" ")], NOW), "invalid_argument");
    assert_eq!(
        list(&ok(&mut dc, "staffBans", &[], NOW + 7200)[0]).len(),
        2,
        "nothing more written"
    );
}

#[test]
fn reports_keep_the_message_as_it_was_outlive_it_and_drop_the_oldest() {
    let mut dc = core(Limits { max_reports: 2, ..Limits::default() });
    let (id, _) = crew(&mut dc);
    ok(&mut dc, "setAlias", &[s("2"), Arg::Int(id), s("Loud")], NOW);
    let mut messages = Vec::new();
    for i in 1..=3 {
        let sent = ok(&mut dc, "send", &[s("2"), Arg::Int(id), s(&format!("m{i}"))], NOW);
        messages.push(int(get(&sent[0], "id")));
    }
    for (i, message) in messages.iter().enumerate() {
        let reason = s(&format!("r{i}"));
        let report = ok(
            &mut dc,
            "report",
            &[s("1"), Arg::Int(id), Arg::Int(*message), reason],
            NOW + i as i64,
        );
        assert_eq!(text(get(&report[0], "sender")), "2");
        assert_eq!(text(get(&report[0], "senderAlias")), "Loud");
        assert_eq!(text(get(&report[0], "reporter")), "1");
    }
    let args = [s("1"), Arg::Int(id), Arg::Int(messages[2]), s("again")];
    assert_eq!(
        refused(&mut dc, "report", &args, NOW),
        "forbidden",
        "one report per member and message"
    );
    // The sender changes alias and the conversation goes: the reports stay as they were.
    ok(&mut dc, "setAlias", &[s("2"), Arg::Int(id), s("Quiet")], NOW);
    ok(&mut dc, "delete", &[Arg::Nil, Arg::Int(id)], NOW);
    let kept = ok(&mut dc, "reports", &[], NOW);
    let kept = list(&kept[0]);
    assert_eq!(kept.len(), 2, "the oldest dropped");
    let contents: Vec<&str> = kept.iter().map(|r| text(get(r, "content"))).collect();
    assert_eq!(contents, ["m3", "m2"]);
    assert_eq!(text(get(&kept[0], "senderAlias")), "Loud");
    let first = int(get(&kept[1], "id"));
    ok(&mut dc, "dismissReport", &[Arg::Int(first)], NOW);
    assert_eq!(refused(&mut dc, "dismissReport", &[Arg::Int(first)], NOW), "invalid_argument");
    assert_eq!(list(&ok(&mut dc, "reports", &[Arg::Int(10)], NOW)[0]).len(), 1);
}

#[test]
fn history_is_for_staff_with_numbers_and_aliases() {
    let mut dc = core(Limits::default());
    let (id, _) = crew(&mut dc);
    ok(&mut dc, "send", &[s("2"), Arg::Int(id), s("hello")], NOW);
    let page = ok(&mut dc, "history", &[Arg::Int(id), Arg::Int(1)], NOW);
    let page = list(&page[0]);
    assert_eq!(page.len(), 1);
    assert_eq!((text(get(&page[0], "sender")), text(get(&page[0], "content"))), ("2", "hello"));
    assert!(matches!(get(&page[0], "senderAlias"), Reply::Str(_)));
    assert_eq!(refused(&mut dc, "history", &[Arg::Int(999)], NOW), "conversation_not_found");
    assert_eq!(
        refused(&mut dc, "history", &[Arg::Int(id), Arg::Int(101)], NOW),
        "invalid_argument"
    );
}

#[test]
fn the_filter_masks_or_refuses_messages_and_refuses_names_and_aliases() {
    let words = ["bad", "fr*"];
    let filter = |mode| Arc::new(Filter::new(&words, mode).unwrap());
    let mut dc = core(Limits { filter: filter(FilterMode::Mask), ..Limits::default() });
    let (id, code) = crew(&mut dc);
    let sent = ok(&mut dc, "send", &[s("1"), Arg::Int(id), s("so B.4.D, frankly")], NOW);
    assert_eq!(text(get(&sent[0], "content")), "so *****, *******");
    let rehearsed = ok(&mut dc, "rehearse", &[s("send"), s("1"), Arg::Int(id), s("bad")], NOW);
    assert_eq!(text(get(&rehearsed[0], "content")), "***", "hooks see what would be stored");
    let page = ok(&mut dc, "messages", &[s("2"), Arg::Int(id)], NOW);
    assert_eq!(text(get(list(&page[0]).last().unwrap(), "content")), "so *****, *******");
    assert_eq!(refused(&mut dc, "create", &[s("3"), s("Baad crew")], NOW), "forbidden");
    assert_eq!(refused(&mut dc, "create", &[s("3"), s("Crew"), s("BADD")], NOW), "forbidden");
    assert_eq!(refused(&mut dc, "rename", &[Arg::Nil, Arg::Int(id), s("bad")], NOW), "forbidden");
    assert_eq!(refused(&mut dc, "join", &[s("3"), s(&code), s("Fr3d")], NOW), "forbidden");
    assert_eq!(refused(&mut dc, "setAlias", &[s("2"), Arg::Int(id), s("b a d")], NOW), "forbidden");
    ok(&mut dc, "setAlias", &[s("2"), Arg::Int(id), s("Badger")], NOW);

    let mut strict = core(Limits { filter: filter(FilterMode::Refuse), ..Limits::default() });
    let (id, _) = crew(&mut strict);
    assert_eq!(
        refused(&mut strict, "send", &[s("1"), Arg::Int(id), s("so baaad")], NOW),
        "forbidden"
    );
    let page = ok(&mut strict, "messages", &[s("1"), Arg::Int(id)], NOW);
    assert_eq!(list(&page[0]).len(), 1, "only the add's system message");
}

#[test]
fn the_filter_list_is_read_from_the_open_options() {
    let words = Some(vec![s("bad"), s("worse*")]);
    assert!(darkchat::api::filter(words, &s("mask")).unwrap().holds("WORSEN"));
    for (words, mode) in [
        (Some(vec![s("b4d")]), Arg::Nil),
        (Some(vec![Arg::Int(5)]), Arg::Nil),
        (Some(vec![s("bad")]), s("hide")),
        (Some(vec![s("bad")]), Arg::Int(1)),
    ] {
        assert_eq!(darkchat::api::filter(words, &mode).unwrap_err().code(), "invalid_argument");
    }
    assert!(darkchat::api::filter(None, &Arg::Nil).unwrap().is_empty());
    // A listed word is read only up to the bound of any string argument (4096 bytes), its
    // padding counted: past it the list is refused unread, however short the word trimmed.
    let padded = |pad: usize| Some(vec![s(&format!("{}bad", " ".repeat(pad)))]);
    assert!(darkchat::api::filter(padded(4093), &Arg::Nil).unwrap().holds("bad"));
    let refused = darkchat::api::filter(padded(4094), &Arg::Nil).unwrap_err();
    assert_eq!(refused.code(), "invalid_argument");
    // Both modes by their config words (the default is refuse).
    let refuse = darkchat::api::filter(Some(vec![s("bad")]), &s("refuse")).unwrap();
    assert_eq!(refuse.mode(), FilterMode::Refuse);
    assert_eq!(FilterMode::parse("refuse").unwrap(), FilterMode::Refuse);
    assert_eq!(FilterMode::parse("mask").unwrap(), FilterMode::Mask);
}

/// A ban that has ended is deleted from the store when the next ban is written: the table
/// holds only bans in force (and a storage move copies no ended ones).
#[test]
fn ended_staff_bans_are_deleted_when_the_next_ban_is_written() {
    let mut dc = core(Limits::default());
    ok(&mut dc, "staffBan", &[s("1"), s("30m")], NOW);
    ok(&mut dc, "staffBan", &[s("2"), s("1h")], NOW);
    let stored = |dc: &mut Darkchat, now| -> Vec<String> {
        let rows = ok(dc, "exportRows", &[s("staff_bans"), Arg::Nil, Arg::Int(100)], now);
        list(&rows[0]).iter().map(|row| text(&list(row)[0]).to_owned()).collect()
    };
    assert_eq!(stored(&mut dc, NOW + 1800), ["1", "2"], "read, not written: both still stored");
    ok(&mut dc, "staffBan", &[s("3")], NOW + 1800);
    assert_eq!(stored(&mut dc, NOW + 1800), ["2", "3"], "the ended ban of 1 is gone");
}

/// A banned number is told so before anything else: a call of theirs refused for its
/// arguments, before it reached the storage, answers `forbidden`, not what was wrong with the
/// arguments.
#[test]
fn a_banned_numbers_bad_call_is_refused_for_the_ban_first() {
    let mut dc = core(Limits::default());
    let (id, _) = crew(&mut dc);
    ok(&mut dc, "staffBan", &[s("2")], NOW);
    assert_eq!(refused(&mut dc, "send", &[s("2"), Arg::Int(id), s("")], NOW), "forbidden");
    // Not banned, the same call is refused for its arguments.
    assert_eq!(refused(&mut dc, "send", &[s("1"), Arg::Int(id), s("")], NOW), "invalid_argument");
}
