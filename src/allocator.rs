//! Process-wide allocator settings, applied by the binaries before any thread starts.
//!
//! glibc gives threads their own malloc arenas. The ledger's SQLite connection allocates
//! its page cache from whichever thread steps it: sqlx's worker thread for queries and
//! commits, a tokio worker for the import path (`ledger/sqlite/direct.rs`). Pages freed by one
//! thread into another's arena fragment them, and RSS grew with history (measured over a
//! 1,000,000-entry pull: 88 MiB at 100,000 entries, 135 MiB at the end; with one arena it
//! stays flat at 87 MiB, at the same speed; two arenas still grew). One arena it is, for
//! what still uses glibc's malloc: SQLite.

/// Limits glibc's malloc to one arena and turns transparent huge pages off for the
/// process. Call first thing in `main`, before any thread.
#[allow(unsafe_code)]
pub fn tune_process_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt and prctl(PR_SET_THP_DISABLE) only change process tunables; called
    // before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        // Transparent huge pages make a partly used 2 MiB region count whole: mimalloc's
        // arenas then held 10-25 MiB more RSS from run to run. Small pages only.
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Rust's own allocations (pages being parsed, records, hashes) go to mimalloc: with
/// glibc's single arena, malloc and free took about a quarter of the pull's engine thread
/// (lock waits and chunk consolidation). SQLite keeps calling glibc's malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
