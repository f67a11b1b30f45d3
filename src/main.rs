//! The `radbind` binary: parses the command line, calls the library, maps the outcome to an
//! exit code and prints errors with their causes.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use radbind::cli::{Cli, Command};
use radbind::exit;
use radbind::units::printable_lines;

/// The allocator (see Cargo.toml: glibc's malloc dominated large runs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // A closed pipe (e.g. `radbind init | head`) is not an error.
            if err.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::from(exit::OK);
            }
            let mut stderr = std::io::stderr().lock();
            // Names and paths in messages may hold control characters: never raw to a terminal.
            let _ = writeln!(stderr, "error: {}", printable_lines(&err.to_string()));
            for cause in err.chain().skip(1) {
                let _ = writeln!(stderr, "  caused by: {}", printable_lines(&cause.to_string()));
            }
            ExitCode::from(exit::ERROR)
        }
    }
}

fn dispatch(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Run { config, out, threads, quiet, shard } => {
            let threads = threads.map(|t| {
                let (n, lowered) = radbind::capped_threads(t);
                if let Some(msg) = lowered {
                    eprintln!("note: {msg}");
                }
                n
            });
            let summary =
                radbind::run(&radbind::RunArgs { config, out, threads, progress: !quiet, shard })?;
            if !quiet {
                print!("{}", printable_lines(&radbind::commands::validate::summary_text(&summary)));
            } else {
                for p in &summary.problems {
                    eprintln!("problem: {}", printable_lines(p));
                }
            }
            Ok(summary.exit_code())
        }
        Command::Merge { shards, out } => {
            let merged = radbind::commands::merge::merge(&shards, &out)?;
            print!("{}", printable_lines(&merged.text()));
            Ok(merged.exit_code())
        }
        Command::Validate { config } => {
            let report = radbind::commands::validate::validate(&config)?;
            print!("{}", printable_lines(&report.text));
            Ok(if report.problems == 0 { exit::OK } else { exit::ERROR })
        }
        Command::Init { from, secondary, output } => {
            let text = match secondary {
                Some(list) => radbind::commands::secondary::scaffold(&list)?,
                None => radbind::commands::init::scaffold_for(from.as_deref(), output.as_deref())?,
            };
            match output {
                Some(path) => radbind::commands::init::write_new(&path, &text)?,
                None => std::io::stdout().lock().write_all(text.as_bytes())?,
            }
            Ok(exit::OK)
        }
        Command::Compare { run_a, run_b, html } => {
            let cmp = radbind::commands::compare::compare(&run_a, &run_b)?;
            print!("{}", printable_lines(&cmp.text()));
            if let Some(path) = html {
                radbind::commands::init::write_new(&path, &cmp.html())?;
            }
            Ok(if cmp.is_identical() { exit::OK } else { exit::PROBLEMS })
        }
        Command::Panel { runs, primary, out, force } => {
            let rows = radbind::commands::panel::panel(&runs, primary.as_deref())?;
            let csv = radbind::report::tables::selectivity_csv(&rows)?;
            match out {
                Some(path) => radbind::commands::panel::write_file(&path, &csv, force)?,
                None => std::io::stdout().lock().write_all(&csv)?,
            }
            Ok(exit::OK)
        }
        Command::Summarize { runs, out, baseline } => {
            let summary = radbind::commands::summarize::summarize_runs(&runs, baseline)?;
            let dir = out.unwrap_or_else(|| radbind::commands::summarize::default_out(&runs));
            print!("{}", printable_lines(&radbind::commands::summarize::summary_text(&summary)));
            let code = match radbind::report::summary_page::write_summary(&summary, &dir) {
                Ok(_) => exit::OK,
                Err(e) => {
                    eprintln!("problem: {}", printable_lines(&format!("{e:#}")));
                    exit::PROBLEMS
                }
            };
            println!("summary: {}", dir.join("summary.html").display());
            Ok(code)
        }
        Command::Completions { shell } => {
            std::io::stdout().lock().write_all(&radbind::cli::completions(shell))?;
            Ok(exit::OK)
        }
        Command::Man => {
            std::io::stdout().lock().write_all(&radbind::cli::man_page()?)?;
            Ok(exit::OK)
        }
        Command::Simulate { config, out, repeat } => {
            let written = radbind::commands::write_simulation(&config, out.as_deref(), repeat)?;
            for f in written {
                println!("wrote {}", f.display());
            }
            Ok(exit::OK)
        }
    }
}
