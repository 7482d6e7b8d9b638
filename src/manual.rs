//! What the binary says about itself for packagers and shells: completion scripts
//! (`timeweave completions SHELL`) and manual pages (`timeweave man`), both generated from the
//! clap definition in `cli`, so they never drift from the real command line.

use std::io::{self, Write};
use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// The completion script for `shell`.
pub fn write_completions(shell: Shell, out: &mut dyn Write) -> io::Result<()> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "timeweave", out);
    Ok(())
}

/// The manual page timeweave(1), in roff: synopsis, options, the commands and examples.
pub fn write_man_page(out: &mut dyn Write) -> io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
}

/// timeweave(1) and one page per command (timeweave-sync(1), ...) as files in `dir`.
pub fn write_man_pages(dir: &Path) -> io::Result<()> {
    clap_mangen::generate_to(Cli::command(), dir)
}
