//! `platter`: the command-line front end. It parses arguments, calls the
//! libraries and prints; the work itself lives in the library crates.
//!
//! Errors are printed as `platter: error: ` followed by the whole context
//! chain. A closed standard output (`platter info --json big | head`) ends
//! the program quietly with status 0, as ripgrep does: Rust ignores SIGPIPE,
//! so writes fail with `EPIPE`, which is caught here.

use std::io;
use std::process::ExitCode;

use clap::Parser;

mod acquire;
mod args;
mod extract;
mod info;
mod output;
mod progress;
mod raid;
mod rescue;
mod table;
mod vdisk;

use args::{Cli, Command, PartsCommand, exit};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // `--help` and `--version` are "errors" printed to stdout.
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) if is_broken_pipe(&err) => ExitCode::from(exit::OK),
        Err(err) => {
            eprintln!("platter: error: {}", render_chain(&err));
            ExitCode::from(exit::ERROR)
        }
    }
}

/// Runs the chosen command and returns its exit status.
fn run(cli: &Cli) -> anyhow::Result<u8> {
    let g = &cli.global;
    match &cli.command {
        Command::Info(a) => info::info(g, a),
        Command::Parts(PartsCommand::List(a)) => info::parts_list(g, a),
        Command::Parts(PartsCommand::Extract(a)) => extract::extract(g, a),
        Command::Raid(c) => raid::run(g, c),
        Command::Acquire(a) => acquire::acquire(g, a),
        Command::Verify(a) => acquire::verify(g, a),
        Command::VerifyLog(a) => acquire::verify_log(g, a),
        Command::Vdisk(c) => vdisk::run(g, c),
    }
}

/// The error and its causes joined by `": "`, like anyhow's `{:#}`, but
/// without repeating a cause that its parent's message already ends with
/// (errors that print their source *and* return it from `source()`).
fn render_chain(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let msg = cause.to_string();
        if msg.is_empty() || out.ends_with(&msg) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&msg);
    }
    out
}

/// True when any error in the chain is a broken pipe.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let kind = cause
            .downcast_ref::<io::Error>()
            .map(io::Error::kind)
            .or_else(|| {
                // serde_json keeps the io::Error inside, out of the chain.
                cause
                    .downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            });
        kind == Some(io::ErrorKind::BrokenPipe)
    })
}

/// The options every command opens its source with.
fn open_options(g: &args::GlobalOpts) -> platter_core::sys::OpenOptions {
    platter_core::sys::OpenOptions {
        direct: g.direct,
        mmap: g.mmap,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(io::Error);

    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "cannot open x.img: {}", self.0)
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn chain_is_printed_once() {
        let inner = io::Error::new(io::ErrorKind::NotFound, "gone");
        let err = anyhow::Error::new(Outer(inner)).context("opening the source");
        assert_eq!(
            render_chain(&err),
            "opening the source: cannot open x.img: gone"
        );
        let err = anyhow::anyhow!("plain").context("outer");
        assert_eq!(render_chain(&err), "outer: plain");
    }

    #[test]
    fn broken_pipe_is_found_anywhere_in_the_chain() {
        let pipe = io::Error::from(io::ErrorKind::BrokenPipe);
        assert!(is_broken_pipe(
            &anyhow::Error::new(Outer(pipe)).context("x")
        ));
        let json = serde_json::Error::io(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(is_broken_pipe(&anyhow::Error::new(json)));
        let other = io::Error::from(io::ErrorKind::NotFound);
        assert!(!is_broken_pipe(&anyhow::Error::new(Outer(other))));
    }
}
