//! `tidelog`: Kafka's command-line tools for a tidelog data directory.
//!
//! Subcommands follow Kafka's tools and their flag names: `topics` is
//! `kafka-topics`, `groups` is `kafka-consumer-groups`, `produce` and
//! `consume` are the console producer and consumer, `dump-log` is
//! `kafka-dump-log`; `serve` makes a data directory a Kafka cluster that
//! any Kafka client connects to. Where Kafka says `--bootstrap-server`, tidelog says
//! `--dir`: the commands open the data directory themselves, so it must not
//! be open in another process at the same time. Built with `--features cli`.

mod args;
mod console;
mod dump;
mod error;
mod groups;
mod serve;
mod topics;

use std::process::ExitCode;

use args::Args;
use error::CliError;

const USAGE: &str = "\
usage: tidelog COMMAND [options]      (tidelog COMMAND --help for its options)

commands:
  topics list|create|describe|delete --dir D ...   like kafka-topics
  groups list|describe|reset-offsets --dir D ...   like kafka-consumer-groups
  produce --dir D --topic T                        like kafka-console-producer: stdin lines become records
  consume --dir D --topic T                        like kafka-console-consumer: records to stdout
  dump-log SEGMENT...                              like kafka-dump-log: decode segment files
  serve --dir D [--listen 127.0.0.1:9092]          a Kafka cluster on D for any Kafka client

Every command except dump-log opens the data directory D itself, so no other
process may have it open meanwhile.";

fn main() -> ExitCode {
    let mut args = Args::from_env();
    match run(&mut args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Help(usage)) => {
            println!("{usage}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("tidelog: {error}");
            if let Some(hint) = error.hint() {
                eprintln!("{hint}");
            }
            ExitCode::from(error.exit_code())
        }
    }
}

fn run(args: &mut Args) -> Result<(), CliError> {
    let command = args.command(USAGE)?;
    match command.as_str() {
        "topics" => topics::run(args),
        "groups" => groups::run(args),
        "produce" => console::produce(args),
        "consume" => console::consume(args),
        "dump-log" => dump::run(args),
        "serve" => serve::run(args),
        other => Err(CliError::usage(format!("unknown command {other:?}"), USAGE)),
    }
}
