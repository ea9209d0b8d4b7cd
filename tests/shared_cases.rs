//! The shared core cases (tests/cases/core_cases.json) on the native dispatch (`api::call`).
//! tests/wasm/cases.test.js runs the same cases on the wasm module and compares its replies with
//! the ones this test writes to target/cases/native.json, so both cores answer alike. The file
//! carries a fingerprint of what the replies came from (the cases, the crate's sources, its
//! migrations and dependencies: [`fingerprint`]); the Node test computes it again and fails on
//! a missing or stale file instead of comparing with it.

use std::path::PathBuf;

use darkchat::api::{self, Arg};
use darkchat::{Darkchat, Store};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Files whose content decides the native replies, relative to the repository root: the cases,
/// the manifest and lock file, and everything under `src/` and `migrations/`, sorted by path.
/// tests/wasm/cases.test.js lists the same files.
fn fingerprint_inputs() -> Vec<String> {
    fn walk(dir: &std::path::Path, rel: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            let rel = format!("{rel}/{name}");
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &rel, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut files: Vec<String> =
        ["tests/cases/core_cases.json", "Cargo.toml", "Cargo.lock"].map(String::from).into();
    for dir in ["src", "migrations"] {
        walk(&root().join(dir), dir, &mut files);
    }
    files.sort();
    files
}

/// FNV-1a (64 bits) over each input's path, a zero byte, its length (8 bytes, little-endian)
/// and its bytes, in [`fingerprint_inputs`] order; as 16 hex digits.
fn fingerprint() -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for rel in fingerprint_inputs() {
        let content = std::fs::read(root().join(&rel)).unwrap();
        feed(rel.as_bytes());
        feed(&[0]);
        feed(&(content.len() as u64).to_le_bytes());
        feed(&content);
    }
    format!("{hash:016x}")
}

/// `expected` matches `actual`: objects on the keys given, arrays element by element,
/// "$any" anything present, everything else by equality.
fn matches(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::String(s), _) if s == "$any" => Ok(()),
        (Value::Object(want), Value::Object(got)) => {
            for (key, value) in want {
                let got = got.get(key).ok_or_else(|| format!("{at}.{key}: missing in {actual}"))?;
                matches(value, got, &format!("{at}.{key}"))?;
            }
            Ok(())
        }
        (Value::Array(want), Value::Array(got)) if want.len() == got.len() => want
            .iter()
            .zip(got)
            .enumerate()
            .try_for_each(|(i, (w, g))| matches(w, g, &format!("{at}[{i}]"))),
        _ if expected == actual => Ok(()),
        _ => Err(format!("{at}: expected {expected}, got {actual}")),
    }
}

/// What both cores must agree on: the outcome without the store's file details.
pub fn comparable(mut outcome: Value) -> Value {
    if let Some(Value::Array(values)) = outcome.get_mut("v") {
        for v in values {
            if let Some(stats) = v.as_object_mut().filter(|o| o.contains_key("sizeBytes")) {
                stats.remove("sizeBytes");
                stats.remove("path");
            }
        }
    }
    outcome
}

#[test]
fn shared_core_cases_on_the_native_dispatch() {
    let text = std::fs::read_to_string(root().join("tests/cases/core_cases.json")).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    let seed_hex = file["seed"].as_str().unwrap();
    let mut seed = [0u8; 32];
    for (i, b) in seed.iter_mut().enumerate() {
        *b = u8::from_str_radix(&seed_hex[2 * i..2 * i + 2], 16).unwrap();
    }
    let now = file["now"].as_i64().unwrap();
    let mut all = Vec::new();
    let mut steps_run = 0;
    for case in file["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let limits = api::limits_from_json(case.get("limits")).unwrap();
        let mut core = Darkchat::new(Store::open_in_memory().unwrap(), limits, seed);
        let mut outcomes = Vec::new();
        for (i, step) in case["steps"].as_array().unwrap().iter().enumerate() {
            let method = step["call"].as_str().unwrap();
            let args: Vec<Arg> =
                step["args"].as_array().unwrap().iter().map(api::arg_from_json).collect();
            // A step may set the clock (a retention expiring); the file's time otherwise.
            let now = step.get("now").and_then(Value::as_i64).unwrap_or(now);
            let outcome = api::outcome_to_json(&api::call(&mut core, method, &args, now));
            let at = format!("{name} / step {i} ({method})");
            if let Some(code) = step.get("error") {
                assert_eq!(outcome["ok"], false, "{at}: expected error {code}, got {outcome}");
                assert_eq!(&outcome["code"], code, "{at}: {outcome}");
            } else {
                assert_eq!(outcome["ok"], true, "{at}: {outcome}");
                matches(&step["ok"], &outcome["v"], &at).unwrap_or_else(|e| panic!("{e}"));
            }
            outcomes.push(comparable(outcome));
            steps_run += 1;
        }
        all.push(Value::Array(outcomes));
    }
    assert!(steps_run > 100, "{steps_run} steps");
    let out = root().join("target/cases");
    std::fs::create_dir_all(&out).unwrap();
    let native = serde_json::json!({ "fingerprint": fingerprint(), "replies": all });
    std::fs::write(out.join("native.json"), serde_json::to_vec_pretty(&native).unwrap()).unwrap();
}
