//! The HTML report renders: one self-contained, well-formed document (no script, no
//! external resource, no URL at all), the right numbers in the summary, the weekly charts
//! and the totals table, and every name from the ledger escaped. When a Chromium is on the
//! PATH (Debian's `chromium` package), it also renders the file headless to a screenshot.

mod report_support;

use std::path::Path;

use report_support::{at, date, insert, known_ledger, EntrySpec, BOB};
use timeweave::cli::{ReportArgs, ReportBy, ReportFormat};
use timeweave_contract::{Project, Record};

const MARKUP_PROJECT: &str = "R&D <\"x\"> 'y'";

async fn render(by: ReportBy) -> (report_support::Fixture, String) {
    let f = known_ledger().await;
    // A project whose name is markup, with 1.5 h on Friday 2026-03-13.
    {
        let mut tx = f.ledger.write().await.unwrap();
        let project = insert(
            &mut tx,
            Record::Project(Project {
                client: None,
                name: MARKUP_PROJECT.into(),
                billable: true,
                hourly_rate_cents: None,
                archived: false,
            }),
        )
        .await;
        let spec = EntrySpec::new(&f.ada, Some(&project), at(2026, 3, 13, 8, 0), 90);
        insert(&mut tx, spec.record()).await;
        tx.commit().await.unwrap();
    }
    let path = f.dir.path().join("report.html");
    let args = ReportArgs {
        from: Some(date("2026-03-01")),
        to: Some(date("2026-03-31")),
        by,
        format: ReportFormat::Table,
        html: Some(path.clone()),
        currency: Some("EUR".into()),
    };
    timeweave::report::report_command(&f.path, &args, date("2026-03-20"), &mut Vec::new())
        .await
        .unwrap();
    let html = std::fs::read_to_string(&path).unwrap();
    (f, html)
}

/// Checks that every `<` opens a tag and that tags nest properly (void elements aside).
fn assert_well_formed(html: &str) {
    const VOID: [&str; 2] = ["meta", "line"];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').expect("unclosed tag");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        let first = tag.chars().next().expect("empty tag");
        assert!(
            first == '/' || first.is_ascii_alphabetic(),
            "a raw `<` in the text: <{tag}>"
        );
        assert!(!tag.contains('<'), "a raw `<` inside a tag: <{tag}>");
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name, "</{name}> closes <{open}>");
        } else {
            let name: String = tag
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if !tag.ends_with('/') && !VOID.contains(&name.as_str()) {
                stack.push(name);
            }
        }
    }
    assert!(stack.is_empty(), "left open: {stack:?}");
}

/// The part of `html` from the element with `id` to the next `</section>`.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let end = start + html[start..].find("</section>").unwrap();
    &html[start..end]
}

/// The `data-hours` values of a chart, in document order.
fn bar_hours(chart: &str) -> Vec<f64> {
    chart
        .split("data-hours=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
        .collect()
}

#[tokio::test]
async fn the_report_is_one_offline_well_formed_file() {
    let (_f, html) = render(ReportBy::Person).await;
    assert!(html.starts_with("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"));
    assert!(html.ends_with("</html>\n"));
    assert_well_formed(&html);
    for banned in [
        "http://", "https://", "<script", "<link", "<img", "<iframe", "url(", "@import", "src=",
        "href=",
    ] {
        assert!(
            !html.contains(banned),
            "the report must not reference anything outside itself: found {banned}"
        );
    }
    for id in [
        "total-hours",
        "billable-amount",
        "weekly-projects",
        "weekly-clients",
        "weekly-people",
        "totals",
        "sync-health",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "no #{id}");
    }
    assert_eq!(html.matches("<svg").count(), 3);
}

#[tokio::test]
async fn the_numbers_match_the_ledger() {
    let (_f, html) = render(ReportBy::Person).await;
    // March: Ada 2 + 1 + 1.5 (+ a running timer), Bob 2.5 + 0.75; billable all but Zephyr's 1 h.
    let card = |id: &str| {
        let s = &html[html.find(&format!("id=\"{id}\"")).unwrap()..];
        let s = &s[s.find("class=\"num\">").unwrap() + 12..];
        s[..s.find('<').unwrap()].to_owned()
    };
    assert_eq!(card("total-hours"), "7.75");
    assert_eq!(card("billable-hours"), "6.75");
    assert_eq!(card("entry-count"), "6");
    assert_eq!(card("running-count"), "1");
    // Apollo (100.00/h): E1 2 h + E3 2.5 h; the rest has no rate.
    assert_eq!(card("billable-amount"), "450.00");
    assert!(html.contains("billable amount (EUR)"));

    // Per client: Acme (Apollo) 4.5 h, Globex (Zephyr and E4) 1.75 h, none (markup) 1.5 h.
    let clients = section(&html, "weekly-clients");
    assert_eq!(bar_hours(clients).iter().sum::<f64>(), 7.75);
    for label in ["Acme", "Globex", "(no client)"] {
        assert!(
            clients.contains(label),
            "{label} missing from the client chart"
        );
    }
    assert!(
        clients.contains("Acme <span class=\"h\">4.50 h</span>"),
        "{clients}"
    );

    // Six weeks touch March 2026 (Mondays 02-23 .. 03-30), in both charts.
    let projects = section(&html, "weekly-projects");
    let people = section(&html, "weekly-people");
    assert_eq!(projects.matches("<g class=\"week\"").count(), 6);
    assert_eq!(people.matches("<g class=\"week\"").count(), 6);
    assert!(
        projects.contains("data-week=\"2026-02-23\"")
            && projects.contains("data-week=\"2026-03-30\"")
    );
    // Per person, the larger series (Ada, 4.5 h) at the bottom of each bar: Ada 3 h in the
    // week of 03-02; Ada 1.5 h and Bob 3.25 h in the week of 03-09.
    assert_eq!(bar_hours(people), vec![3.0, 1.5, 3.25]);
    assert!(people.contains("Ada Lovelace · week of 2026-03-02: 3.00 h"));
    // Per project: Apollo 2, Zephyr 1 | Apollo 2.5, no project 0.75, the markup one 1.5.
    let mut by_project = bar_hours(projects);
    assert_eq!(by_project.iter().sum::<f64>(), 7.75);
    by_project.sort_by(f64::total_cmp);
    assert_eq!(by_project, vec![0.75, 1.0, 1.5, 2.0, 2.5]);
    assert!(projects.contains("(no project)"));
    // Week totals are written above the bars.
    assert!(
        projects.contains(">3</text>") && projects.contains(">4.75</text>"),
        "week totals 3 and 4.75"
    );

    let totals = section(&html, "totals");
    assert!(totals.contains("<h2>Totals by person</h2>"));
    let ada_row = &totals[totals.find("<td>Ada Lovelace</td>").unwrap()..];
    let ada_row = &ada_row[..ada_row.find("</tr>").unwrap()];
    assert!(ada_row.contains("<td class=\"n\">4</td><td class=\"n\">1</td><td class=\"n\">4.50</td><td class=\"n\">3.50</td>"), "{ada_row}");
    assert!(totals.contains("<tfoot><tr><td>Total</td><td>"));
    assert!(totals.contains(
        "<td class=\"n\">7.75</td><td class=\"n\">6.75</td><td class=\"n\">450.00</td><td class=\"n\">100.0%</td>"
    ));
    assert!(totals.contains("amount EUR"));
    assert!(totals.contains("2.25 billable hours are on projects without an hourly rate"));

    let health = section(&html, "sync-health");
    assert!(health.contains("<td>tt</td><td class=\"bad\">failed</td>"));
    assert!(health.contains("boom &lt;2&gt;"));
}

#[tokio::test]
async fn every_name_is_escaped() {
    let (_f, html) = render(ReportBy::Project).await;
    assert!(
        !html.contains(BOB) && !html.contains("<&>"),
        "raw markup from a person's name"
    );
    assert!(
        !html.contains(MARKUP_PROJECT) && !html.contains("<\"x\">"),
        "raw markup from a project's name"
    );
    let bob = "Bob &lt;&amp;&gt; &quot;Builder&quot;";
    let project = "R&amp;D &lt;&quot;x&quot;&gt; &#39;y&#39;";
    assert!(
        section(&html, "weekly-people").contains(&format!("{bob} · week of 2026-03-09: 3.25 h"))
    );
    assert!(section(&html, "weekly-people")
        .contains(&format!("</span>{bob} <span class=\"h\">3.25 h</span>")));
    assert!(section(&html, "weekly-projects")
        .contains(&format!("{project} · week of 2026-03-09: 1.50 h")));
    assert!(section(&html, "totals").contains(&format!("<td>{project}</td>")));
    assert_well_formed(&html);
}

/// Finds a Chromium on the PATH, if any.
fn chromium() -> Option<String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(name))
                    .find(|p| p.is_file())
                    .map(|p| p.display().to_string())
            })
        })
}

fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

#[tokio::test]
async fn chromium_renders_it_headless_when_installed() {
    let Some(browser) = chromium() else {
        eprintln!("no chromium on the PATH: the headless screenshot check is skipped (apt-get install chromium)");
        return;
    };
    let (f, _html) = render(ReportBy::Project).await;
    let page = f.dir.path().join("report.html");
    let shot = f.dir.path().join("report.png");
    let out = std::process::Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--window-size=1200,1800",
            &format!(
                "--user-data-dir={}",
                f.dir.path().join("chromium").display()
            ),
            &format!("--screenshot={}", shot.display()),
        ])
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(png_size(&shot), (1200, 1800));
    if let Ok(keep) = std::env::var("TIMEWEAVE_KEEP_SCREENSHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
}
