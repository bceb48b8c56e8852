//! The `sentinel` binary: command-line interface over the core and the plugins.

mod cli;
mod demo;
mod simulate;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let code = match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    };
    // The console's stdin reader is a blocking read that cannot be cancelled: dropping the runtime
    // would wait for a line that may never come (stdin an open pipe). The bot has shut down in
    // order by now; nothing else is left to wait for.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    code
}
