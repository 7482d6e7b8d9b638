//! Secrets never leak: a full three-provider sync by the real binary with tracing at TRACE
//! level, then no credential (raw, or as the HTTP Basic value that carries it) appears in
//! its stdout, its stderr, or anywhere in the ledger files.

mod support;

use std::process::Command;

use support::{base64, Sims};

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes() {
        let Some(v) = value(c) else { break };
        acc = acc << 6 | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sync_at_trace_level_leaks_no_credential() {
    let dir = tempfile::tempdir().unwrap();
    let sims = Sims::start().await;
    let expected = sims.book_ring(10);
    let ledger = dir.path().join("ledger.db");
    let config = dir.path().join("timeweave.toml");
    std::fs::write(&config, sims.config(&ledger, "")).unwrap();

    let (secrets, forms) = support::credential_forms(&sims);
    assert!(
        secrets.iter().all(|(_, s)| s.len() >= 8),
        "meaningful secrets"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_timeweave"))
        .arg("--config")
        .arg(&config)
        .args(["--log-format", "json", "--log-level", "trace", "sync"])
        .env("RUST_LOG", "trace")
        .output()
        .expect("run timeweave");
    assert!(
        out.status.success(),
        "the sync succeeds: {}",
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        out.stderr.len() > 10_000,
        "TRACE logging is on ({} bytes of log)",
        out.stderr.len()
    );
    support::assert_exactly_once(&sims.contents().await, &expected);

    let mut places: Vec<(String, Vec<u8>)> = vec![
        ("stdout".into(), out.stdout.clone()),
        ("stderr".into(), out.stderr.clone()),
    ];
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("ledger.db") {
            places.push((name, std::fs::read(&path).unwrap()));
        }
    }
    assert!(places
        .iter()
        .any(|(n, b)| n == "ledger.db" && !b.is_empty()));
    for (place, bytes) in &places {
        for (what, form) in &forms {
            assert!(!find(bytes, form.as_bytes()), "{what} appears in {place}");
        }
        // Any Basic credential at all, whatever the user name, is a leak.
        let text = String::from_utf8_lossy(bytes);
        for (i, _) in text.match_indices("Basic ") {
            let decoded = decode_base64(&text[i + 6..]);
            for (what, s) in &secrets {
                assert!(
                    !find(&decoded, s.as_bytes()),
                    "{what} appears Basic-encoded in {place}"
                );
            }
        }
    }
}

/// The encoder and decoder above are what make the Basic checks meaningful.
#[test]
fn base64_helpers_match_known_values() {
    assert_eq!(base64(b"Man"), "TWFu");
    assert_eq!(base64(b"Ma"), "TWE=");
    assert_eq!(base64(b"M"), "TQ==");
    assert_eq!(base64(b"API_TOKEN:s3cret"), "QVBJX1RPS0VOOnMzY3JldA==");
    assert_eq!(
        decode_base64("QVBJX1RPS0VOOnMzY3JldA== trailing"),
        b"API_TOKEN:s3cret"
    );
}
