//! `timeweave demo --serve` end to end, through the real binary on free loopback ports: it
//! prints a ready tour; the tour's own `curl` edits an entry in the TimeTracker simulator;
//! the edit reaches the other two simulators (read with the tour's `curl`s) and the
//! daemon's `/metrics` counts new cycles; SIGTERM ends it all with exit 0. And a taken port
//! is refused with a message naming it and `--port-base`, before anything starts.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_timeweave");
const READY: &str = "ready: the simulators and the daemon are running";
const TOUR_END: &str = "Ctrl-C stops the daemon and the simulators.";
/// Everything slow (startup, first sync, propagation) gets this long on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(500);

/// A base port with it and the next three free on 127.0.0.1 (checked by binding them).
fn free_port_base() -> u16 {
    for _ in 0..200 {
        let first = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = first.local_addr().unwrap().port();
        if base > 65532 {
            continue;
        }
        let rest: Vec<_> = (1..4)
            .map_while(|i| TcpListener::bind(("127.0.0.1", base + i)).ok())
            .collect();
        if rest.len() == 3 {
            return base;
        }
    }
    panic!("no four free loopback ports in a row");
}

/// The running demo; killed if a failed assertion leaves it running.
struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn spawn_demo(base: u16, dir: &std::path::Path) -> Demo {
    let child = Command::new(BIN)
        .args(["demo", "--serve", "--port-base", &base.to_string(), "--dir"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("stderr.txt")).unwrap(),
        ))
        .spawn()
        .unwrap();
    Demo(child)
}

/// The child's stdout, line by line, from a thread (so reads can time out).
fn lines_of(child: &mut Child) -> Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Lines up to and including the one `until` accepts; panics with what came after `PATIENCE`.
fn read_until(lines: &Receiver<String>, until: impl Fn(&str) -> bool) -> Vec<String> {
    let deadline = Instant::now() + PATIENCE;
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => {
                let done = until(&line);
                seen.push(line);
                if done {
                    return seen;
                }
            }
            Err(_) => break,
        }
    }
    panic!(
        "the demo never printed what was expected; it printed:\n{}",
        seen.join("\n")
    );
}

/// One request as the tour's `curl` command line makes it.
#[derive(Debug)]
struct Curl {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

/// Shell words of a command line: single-quoted (with `'\''` for a quote) or bare.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let (mut quoted, mut escaped) = (false, false);
    for c in line.chars() {
        match c {
            _ if escaped => {
                escaped = false;
                word.get_or_insert_with(String::new).push(c);
            }
            '\'' => {
                quoted = !quoted;
                word.get_or_insert_with(String::new);
            }
            '\\' if !quoted => escaped = true,
            ' ' if !quoted => words.extend(word.take()),
            _ => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

#[test]
fn shell_words_reads_quotes_as_the_shell_does() {
    assert_eq!(
        shell_words(r#"curl -d '{"n":"Ada'\''s"}' 'a b'"#),
        ["curl", "-d", r#"{"n":"Ada's"}"#, "a b"]
    );
}

fn parse_curl(line: &str) -> Curl {
    let command = line.split("    #").next().unwrap().trim();
    let words = shell_words(command);
    assert_eq!(words.first().map(String::as_str), Some("curl"), "{line}");
    let mut curl = Curl {
        method: "GET".into(),
        url: String::new(),
        headers: Vec::new(),
        body: None,
    };
    let mut it = words.into_iter().skip(1);
    while let Some(word) = it.next() {
        match word.as_str() {
            "-sS" => {}
            "-X" => curl.method = it.next().unwrap(),
            "-H" => {
                let h = it.next().unwrap();
                let (name, value) = h.split_once(": ").unwrap();
                curl.headers.push((name.into(), value.into()));
            }
            "-d" => curl.body = it.next(),
            url => curl.url = url.into(),
        }
    }
    curl
}

async fn send(client: &reqwest::Client, curl: &Curl) -> (u16, String) {
    let method = reqwest::Method::from_bytes(curl.method.as_bytes()).unwrap();
    let mut request = client.request(method, &curl.url);
    for (name, value) in &curl.headers {
        request = request.header(name, value);
    }
    if let Some(body) = &curl.body {
        request = request.body(body.clone());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The sum of every `timeweave_cycles_total` sample.
async fn cycles(client: &reqwest::Client, metrics: &str) -> f64 {
    let text = client
        .get(metrics)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("timeweave_cycles_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn line_with<'a>(tour: &'a [String], needle: &str) -> &'a str {
    tour.iter()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in the tour:\n{}", tour.join("\n")))
}

fn wait_for_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the demo did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edit_made_through_the_printed_curl_reaches_the_other_two_and_sigterm_ends_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut demo = spawn_demo(free_port_base(), dir.path());
    let lines = lines_of(&mut demo.0);
    read_until(&lines, |l| l.starts_with(READY));
    let tour = read_until(&lines, |l| l == TOUR_END);

    let edit = parse_curl(line_with(&tour, "-X PATCH"));
    let notes = serde_json::from_str::<serde_json::Value>(edit.body.as_deref().unwrap()).unwrap()
        ["notes"]
        .as_str()
        .unwrap()
        .to_owned();
    let copies: Vec<Curl> = ["# timetrack", "# trackingtime"]
        .iter()
        .map(|name| parse_curl(line_with(&tour, name)))
        .collect();
    let metrics = parse_curl(line_with(&tour, "curl -sS http://")).url;
    let client = reqwest::Client::new();
    for copy in &copies {
        let (status, body) = send(&client, copy).await;
        assert_eq!(status, 200, "{copy:?}: {body}");
        assert!(!body.contains(&notes), "{body}");
    }
    let cycles_before = cycles(&client, &metrics).await;

    let (status, body) = send(&client, &edit).await;
    assert_eq!(status, 200, "the tour's edit failed: {body}");
    let deadline = Instant::now() + PATIENCE;
    let mut arrived = vec![false; copies.len()];
    while arrived.contains(&false) {
        assert!(
            Instant::now() < deadline,
            "the edit did not arrive: {arrived:?}"
        );
        tokio::time::sleep(POLL).await;
        for (copy, done) in copies.iter().zip(arrived.iter_mut()) {
            *done = *done || send(&client, copy).await.1.contains(&notes);
        }
    }
    assert!(cycles(&client, &metrics).await > cycles_before);

    let term = Command::new("kill")
        .args(["-TERM", &demo.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = wait_for_exit(&mut demo.0, Duration::from_secs(30));
    let stderr = std::fs::read_to_string(dir.path().join("stderr.txt")).unwrap();
    assert!(status.success(), "exit {status:?}\n{stderr}");
    let rest: Vec<String> = lines.iter().collect();
    assert!(
        rest.iter().any(|l| l.starts_with("stopped:")),
        "{rest:?}\n{stderr}"
    );
}

#[test]
fn a_taken_port_is_refused_naming_it_and_the_flag() {
    let base = free_port_base();
    let taken = TcpListener::bind(("127.0.0.1", base + 2)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut demo = spawn_demo(base, dir.path());
    let lines = lines_of(&mut demo.0);
    let status = wait_for_exit(&mut demo.0, PATIENCE);
    drop(taken);
    let stdout: Vec<String> = lines.iter().collect();
    let stderr = std::fs::read_to_string(dir.path().join("stderr.txt")).unwrap();
    assert_eq!(status.code(), Some(1), "{stdout:?}\n{stderr}");
    assert!(
        stderr.contains(&format!("127.0.0.1:{}", base + 2)),
        "{stderr}"
    );
    assert!(stderr.contains("TimeTracker simulator"), "{stderr}");
    assert!(stderr.contains("--port-base"), "{stderr}");
    assert!(stdout.is_empty(), "started anyway: {stdout:?}");
    assert!(!dir.path().join("timeweave.toml").exists());
}

#[test]
fn ctrl_c_before_the_daemon_runs_still_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut demo = spawn_demo(free_port_base(), dir.path());
    let lines = lines_of(&mut demo.0);
    read_until(&lines, |l| l == "before the sync:");
    let int = Command::new("kill")
        .args(["-INT", &demo.0.id().to_string()])
        .status()
        .unwrap();
    assert!(int.success());
    let status = wait_for_exit(&mut demo.0, PATIENCE);
    let stderr = std::fs::read_to_string(dir.path().join("stderr.txt")).unwrap();
    assert!(status.success(), "exit {status:?}\n{stderr}");
    let rest: Vec<String> = lines.iter().collect();
    assert!(
        rest.iter().any(|l| l.starts_with("stopped")),
        "{rest:?}\n{stderr}"
    );
}
