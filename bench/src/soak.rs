//! Soak: the daemon (`timeweave run`, a child process) against the three simulators for
//! `--seconds`, every instance scheduled every five seconds, with a new entry booked in one
//! of the simulators each second (up to `--entries`, unlimited by default; `--entries 0`
//! keeps the data still, to tell growth with the data from growth with the cycles). RSS is sampled every ten seconds
//! and printed as it goes; at the end the first and second halves are compared, to tell a
//! memory that settles from one that keeps growing.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::pull::timeweave_binary;
use crate::support::{self, metric, Layout};

const PEOPLE: usize = 10;
const SAMPLE: Duration = Duration::from_secs(10);

pub async fn run(seconds: u64, max_entries: Option<usize>) -> anyhow::Result<()> {
    println!("# soak: timeweave run against three simulators for {seconds} s (cycles every 5 s)");
    let bin = timeweave_binary()?;
    let dir = tempfile::tempdir()?;
    let three = support::ThreeSims::start().await?;
    let sims = three.all();
    let layout = Layout::new(PEOPLE);
    let seeded: Vec<_> = sims
        .iter()
        .map(|(_, sim)| support::seed_refs(*sim, PEOPLE))
        .collect();
    let config_path = dir.path().join("timeweave.toml");
    let mut toml = support::config(&dir.path().join("ledger.db"), &layout.horizon(1), &[]);
    for (name, sim) in &sims {
        toml.push_str(&timeweave::demo::simulator_section(
            name,
            *sim,
            "mode = \"both\"\nschedule = \"*/5 * * * * *\"\n",
            support::UNLIMITED,
        ));
    }
    std::fs::write(&config_path, toml)?;
    let mut child = std::process::Command::new(&bin)
        .arg("--config")
        .arg(&config_path)
        .args(["--log-format", "json", "run"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id().to_string();
    let started = Instant::now();
    let mut samples: Vec<(u64, f64)> = Vec::new();
    let mut next_sample = SAMPLE;
    let mut booked = 0usize;
    while started.elapsed() < Duration::from_secs(seconds) {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("the daemon exited early with {status}");
        }
        if max_entries.is_none_or(|max| booked < max) {
            let (_, sim) = sims[booked % sims.len()];
            let (people, project) = &seeded[booked % sims.len()];
            sim.add_entry(&layout.entry(booked, &people[layout.person(booked)], project));
            booked += 1;
        }
        if started.elapsed() >= next_sample {
            if let Some(rss) = support::proc_status_kb(&pid, "VmRSS:") {
                let at = started.elapsed().as_secs();
                samples.push((at, support::mib(rss)));
                metric(
                    &format!("soak_rss_at_{at}s"),
                    format!("{:.1}", support::mib(rss)),
                    "MiB",
                );
            }
            next_sample += SAMPLE;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // SIGTERM, as systemd stops it.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    let status = child.wait()?;
    metric("soak_seconds", seconds, "s");
    metric("soak_entries_booked", booked, "entries");
    metric("soak_exit", status, "");
    report_growth(&samples);
    Ok(())
}

/// The mean RSS of the first and second halves of the samples, and the growth between.
fn report_growth(samples: &[(u64, f64)]) {
    if samples.len() < 4 {
        return;
    }
    let half = samples.len() / 2;
    let mean = |s: &[(u64, f64)]| s.iter().map(|(_, r)| r).sum::<f64>() / s.len() as f64;
    let (first, second) = (mean(&samples[..half]), mean(&samples[half..]));
    let peak = samples.iter().map(|(_, r)| *r).fold(0.0, f64::max);
    metric("soak_rss_first_half_mean", format!("{first:.1}"), "MiB");
    metric("soak_rss_second_half_mean", format!("{second:.1}"), "MiB");
    metric("soak_rss_peak", format!("{peak:.1}"), "MiB");
    metric(
        "soak_rss_growth_between_halves",
        format!("{:.1}", second - first),
        "MiB",
    );
}
