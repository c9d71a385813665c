//! The `coxswain` command line: parse, then hand over to the library.

use std::process::ExitCode;

use clap::Parser;

use coxswain::settings::{Cli, Command};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if err.use_stderr() => {
            // One clear line, not clap's usage block.
            let text = err.render().to_string();
            eprintln!(
                "{}",
                text.lines().next().unwrap_or("error: bad command line")
            );
            return ExitCode::from(2);
        }
        Err(err) => {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
    };
    match cli.command {
        Command::Serve(settings) => coxswain::server::main(settings),
    }
}
