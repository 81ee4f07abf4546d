//! `tidelog groups`: list, describe (with lag) and reset the offsets of
//! consumer groups, like `kafka-consumer-groups`.

use std::path::PathBuf;

use tidelog::{Log, OffsetSpec};

use crate::args::{open_log, required, Args};
use crate::error::CliError;

const USAGE: &str = "\
usage: tidelog groups list --dir D
       tidelog groups describe --dir D --group G
       tidelog groups reset-offsets --dir D --group G --topic T SPEC [--dry-run | --execute]

  --dir D                   the Log's data directory (required)
  --group G                 the consumer group
  --topic T                 reset-offsets: the topic whose partitions move (all of them)
  SPEC, one of:
    --to-earliest           the log start offset
    --to-latest             the high watermark: only new records are read
    --to-offset N           offset N (clamped to what the log holds)
    --shift-by N            the committed offset moved by N (negative: back)
    --to-datetime DT        the first record at or after DT, UTC, as
                            YYYY-MM-DDTHH:MM:SS[.sss] (Kafka's format)
  --dry-run                 show the new offsets without committing them (the default)
  --execute                 commit them";

#[derive(Default)]
struct Options {
    dir: Option<PathBuf>,
    group: Option<String>,
    topic: Option<String>,
    spec: Option<OffsetSpec>,
    execute: bool,
}

pub(crate) fn run(args: &mut Args) -> Result<(), CliError> {
    let action = args.command(USAGE)?;
    let options = parse(args)?;
    let log = open_log(&options.dir, args)?;
    let result = match action.as_str() {
        "list" => list(&log),
        "describe" => describe(&log, &options, args),
        "reset-offsets" => reset(&log, &options, args),
        other => Err(args.error(format!("unknown groups command {other:?}"))),
    };
    log.close()?;
    result
}

fn parse(args: &mut Args) -> Result<Options, CliError> {
    let mut options = Options::default();
    let spec = |options: &mut Options, spec: OffsetSpec, args: &Args| {
        if options.spec.replace(spec).is_some() {
            return Err(args.error("give only one of the --to-* and --shift-by options"));
        }
        Ok(())
    };
    while let Some(flag) = args.next()? {
        match flag.as_str() {
            "--dir" => options.dir = Some(args.value(&flag)?.into()),
            "--group" => options.group = Some(args.value(&flag)?),
            "--topic" => options.topic = Some(args.value(&flag)?),
            "--to-earliest" => spec(&mut options, OffsetSpec::Earliest, args)?,
            "--to-latest" => spec(&mut options, OffsetSpec::Latest, args)?,
            "--to-offset" => spec(&mut options, OffsetSpec::Offset(args.parsed(&flag)?), args)?,
            "--shift-by" => spec(&mut options, OffsetSpec::ShiftBy(args.parsed(&flag)?), args)?,
            "--to-datetime" => {
                let value = args.value(&flag)?;
                let millis = parse_datetime(&value).ok_or_else(|| {
                    args.error(format!(
                        "--to-datetime: {value:?} is not YYYY-MM-DDTHH:MM:SS[.sss]"
                    ))
                })?;
                spec(&mut options, OffsetSpec::Timestamp(millis), args)?;
            }
            "--dry-run" => options.execute = false,
            "--execute" => options.execute = true,
            other => return Err(args.unknown(other)),
        }
    }
    Ok(options)
}

fn list(log: &Log) -> Result<(), CliError> {
    for group in log.list_groups()? {
        println!("{group}");
    }
    Ok(())
}

/// The state line, then Kafka's offset table: where the group is, where
/// the log ends (the high watermark, what consumers can read), and the lag.
fn describe(log: &Log, options: &Options, args: &Args) -> Result<(), CliError> {
    let name = required(options.group.as_ref(), "--group", args)?;
    let group = log.consumer_group(name);
    let description = group.describe()?;
    println!(
        "Consumer group '{name}': state {:?}, generation {}, {} members",
        description.state(),
        description.generation(),
        description.members().len()
    );
    let lags = group.lag()?;
    if lags.is_empty() {
        println!("No committed offsets.");
        return Ok(());
    }
    println!(
        "\n{:<20} {:<20} {:>9} {:>15} {:>15} {:>10}",
        "GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG"
    );
    for lag in lags {
        let dash = || "-".to_string();
        println!(
            "{:<20} {:<20} {:>9} {:>15} {:>15} {:>10}",
            name,
            lag.topic_partition().topic(),
            lag.partition(),
            lag.committed()
                .map_or_else(dash, |c| c.offset().to_string()),
            lag.high_watermark(),
            lag.lag().map_or_else(dash, |l| l.to_string()),
        );
    }
    Ok(())
}

/// Kafka's tool plans by default and changes nothing without `--execute`.
fn reset(log: &Log, options: &Options, args: &Args) -> Result<(), CliError> {
    let name = required(options.group.as_ref(), "--group", args)?;
    let topic = required(options.topic.as_ref(), "--topic", args)?;
    let spec = required(
        options.spec,
        "one of --to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime",
        args,
    )?;
    let group = log.consumer_group(name);
    let offsets = if options.execute {
        group.reset_offsets(topic, spec)?
    } else {
        group.plan_reset_offsets(topic, spec)?
    };
    println!(
        "{:<20} {:<20} {:>9} {:>12}",
        "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"
    );
    for (tp, offset) in offsets {
        println!(
            "{name:<20} {:<20} {:>9} {offset:>12}",
            tp.topic(),
            tp.partition()
        );
    }
    if !options.execute {
        println!("\nDry run: nothing was committed. Add --execute to commit these offsets.");
    }
    Ok(())
}

/// Milliseconds since the Unix epoch of `YYYY-MM-DDTHH:MM:SS[.sss]` in UTC
/// (a trailing `Z` is allowed).
fn parse_datetime(text: &str) -> Option<i64> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = text.split_once('T')?;
    let mut date = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let (time, millis) = match time.split_once('.') {
        Some((time, fraction)) if fraction.len() == 3 => (time, fraction.parse::<i64>().ok()?),
        Some(_) => return None,
        None => (time, 0),
    };
    let mut time = time.splitn(3, ':').map(str::parse::<i64>);
    let (hour, minute, second) = (time.next()?.ok()?, time.next()?.ok()?, time.next()?.ok()?);
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..60).contains(&second);
    if !valid {
        return None;
    }
    let seconds = days_since_epoch(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some(seconds * 1000 + millis)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date: count from
/// a year starting in March, so that the leap day is the year's last.
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse_datetime;

    #[test]
    fn datetimes_are_utc_milliseconds() {
        assert_eq!(parse_datetime("1970-01-01T00:00:00"), Some(0));
        assert_eq!(parse_datetime("1970-01-02T00:00:01.250"), Some(86_401_250));
        assert_eq!(
            parse_datetime("2000-03-01T00:00:00Z"),
            Some(951_868_800_000)
        );
        assert_eq!(
            parse_datetime("2024-02-29T12:00:00"),
            Some(1_709_208_000_000)
        );
        assert_eq!(parse_datetime("1969-12-31T23:59:59"), Some(-1000));
    }

    #[test]
    fn impossible_datetimes_are_refused() {
        for text in [
            "2023-02-29T00:00:00",
            "2024-13-01T00:00:00",
            "2024-01-01 00:00:00",
            "2024-01-01T24:00:00",
            "2024-01-01T00:00:00.5",
            "yesterday",
        ] {
            assert_eq!(parse_datetime(text), None, "{text}");
        }
    }
}
