//! timeweave: a sync/ETL daemon that keeps TimeTrack, TrackingTime and TimeTracker accounts
//! in step through one canonical SQLite ledger. This library holds everything the `timeweave`
//! binary runs but its command layer (`main.rs`, `commands.rs`); `ARCHITECTURE.md` maps it.
//! Its errors are typed (`thiserror`); `anyhow` is the binary's alone.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod agreement;
pub mod allocator;
pub mod cli;
pub mod config;
pub mod conflicts;
pub mod cycle_durations;
pub mod daemon;
pub mod demo;
pub mod describe;
pub mod doctor;
pub mod leases;
pub mod ledger;
pub mod lock;
pub mod logging;
pub mod manual;
pub mod once;
pub mod process;
pub mod progress_line;
pub mod registry;
pub mod report;
pub mod schedule;
pub mod server;
pub mod status;
pub mod sync;
pub mod webhook_gate;
