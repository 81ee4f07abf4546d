//! The `tidelog` command, run as a user runs it: a separate process on a
//! data directory, checked through its output and through the library.
//! Needs `--features cli`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use tidelog::{Log, OffsetSpec, ProducerConfig, ProducerRecord, TopicConfig, TopicPartition};

/// One test at a time. A child process forked by one test's thread holds a
/// copy of every descriptor the test process has open until it execs, the
/// `.lock` of a `Log` another test has open included; `flock` locks belong
/// to the open file, so for that moment a directory can look held by a
/// `Log` that was already closed.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `tidelog args...` with `stdin` as its input.
fn tidelog(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidelog"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tidelog");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("run tidelog")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs a command that must succeed; its stdout.
fn ok(args: &[&str], stdin: &str) -> String {
    let output = tidelog(args, stdin);
    assert!(
        output.status.success(),
        "tidelog {args:?} failed: {}",
        stderr(&output)
    );
    stdout(&output)
}

/// A data directory whose `__consumer_offsets` has one partition (so that
/// every command opening it stays quick), with topic `orders` (one
/// partition) holding `records` keyed records `k<i>` → `v<i>`, timestamps
/// 1000, 2000, ...
fn prepared(records: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::builder(dir.path())
        .set("offsets.topic.num.partitions", "1")
        .unwrap()
        .open()
        .unwrap();
    log.create_topic("orders", TopicConfig::new().partitions(1))
        .unwrap();
    let producer = log.producer(ProducerConfig::new()).unwrap();
    for i in 0..records {
        let record = ProducerRecord::new("orders", format!("v{i}"))
            .key(format!("k{i}"))
            .timestamp(1000 * (i64::from(i) + 1));
        producer.send_sync(record).unwrap();
    }
    producer.close();
    // Creates __consumer_offsets with the one partition set above.
    log.consumer_group("setup")
        .reset_offsets("orders", OffsetSpec::Earliest)
        .unwrap();
    log.close().unwrap();
    dir
}

fn committed(dir: &Path, group: &str) -> Option<u64> {
    let log = Log::open(dir).unwrap();
    let offset = log
        .consumer_group(group)
        .committed(&TopicPartition::new("orders", 0))
        .unwrap()
        .map(|c| c.offset());
    log.close().unwrap();
    offset
}

#[test]
fn topics_create_list_describe_delete() {
    let _serial = serial();
    let dir = prepared(0);
    let d = dir.path().to_str().unwrap();
    let created = ok(
        &[
            "topics",
            "create",
            "--dir",
            d,
            "--topic",
            "events",
            "--partitions",
            "4",
            "--config",
            "retention.ms=60000",
        ],
        "",
    );
    assert_eq!(created, "Created topic events.\n");
    assert_eq!(ok(&["topics", "list", "--dir", d], ""), "events\norders\n");
    let described = ok(&["topics", "describe", "--dir", d, "--topic", "events"], "");
    let lines: Vec<&str> = described.lines().collect();
    assert!(lines[0].starts_with("Topic: events\tPartitionCount: 4\tReplicationFactor: 3"));
    assert_eq!(lines.len(), 5, "{described}");
    assert!(lines[4].contains("Partition: 3") && lines[4].contains("HighWatermark: 0"));
    let again = tidelog(&["topics", "create", "--dir", d, "--topic", "events"], "");
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        ok(&["topics", "delete", "--dir", d, "--topic", "events"], ""),
        "Deleted topic events.\n"
    );
    assert_eq!(ok(&["topics", "list", "--dir", d], ""), "orders\n");
}

#[test]
fn produce_then_consume_with_keys() {
    let _serial = serial();
    let dir = prepared(0);
    let d = dir.path().to_str().unwrap();
    let input = "a:1\nb:2\nc:3:x\n";
    let produce = [
        "produce",
        "--dir",
        d,
        "--topic",
        "orders",
        "--property",
        "parse.key=true",
        "key.separator=:",
    ];
    ok(&produce, input);
    let printed = ok(
        &[
            "consume",
            "--dir",
            d,
            "--topic",
            "orders",
            "--from-beginning",
            "--property",
            "print.key=true",
            "--property",
            "print.offset=true",
        ],
        "",
    );
    assert_eq!(
        printed,
        "Offset:0\ta\t1\nOffset:1\tb\t2\nOffset:2\tc\t3:x\n"
    );
    // Without --from-beginning and without a group, only new records: none.
    assert_eq!(ok(&["consume", "--dir", d, "--topic", "orders"], ""), "");
    let bad = tidelog(&produce, "no separator here\n");
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("line 1: no key separator"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn a_group_commits_exactly_what_was_printed() {
    let _serial = serial();
    let dir = prepared(5);
    let d = dir.path().to_str().unwrap();
    let consume = [
        "consume",
        "--dir",
        d,
        "--topic",
        "orders",
        "--group",
        "billing",
        "--from-beginning",
        "--max-messages",
        "2",
    ];
    assert_eq!(ok(&consume, ""), "v0\nv1\n");
    assert_eq!(committed(dir.path(), "billing"), Some(2));
    // The next run resumes at the committed offset.
    assert_eq!(ok(&consume, ""), "v2\nv3\n");
    let groups = ok(&["groups", "list", "--dir", d], "");
    assert_eq!(groups, "billing\nsetup\n");
    let described = ok(
        &["groups", "describe", "--dir", d, "--group", "billing"],
        "",
    );
    let row = described.lines().last().unwrap();
    let columns: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        columns,
        ["billing", "orders", "0", "4", "5", "1"],
        "{described}"
    );
}

#[test]
fn reset_offsets_is_a_dry_run_until_execute() {
    let _serial = serial();
    let dir = prepared(5);
    let d = dir.path().to_str().unwrap();
    let reset = |spec: &[&str], execute: bool| {
        let mut args = vec![
            "groups",
            "reset-offsets",
            "--dir",
            d,
            "--group",
            "setup",
            "--topic",
            "orders",
        ];
        args.extend_from_slice(spec);
        if execute {
            args.push("--execute");
        }
        let out = ok(&args, "");
        let row = out.lines().nth(1).unwrap().to_string();
        (row.split_whitespace().last().unwrap().to_string(), out)
    };
    let (planned, out) = reset(&["--to-latest"], false);
    assert_eq!(planned, "5");
    assert!(out.contains("Dry run"), "{out}");
    assert_eq!(committed(dir.path(), "setup"), Some(0));
    assert_eq!(reset(&["--to-latest"], true).0, "5");
    assert_eq!(committed(dir.path(), "setup"), Some(5));
    assert_eq!(reset(&["--shift-by", "-2"], true).0, "3");
    assert_eq!(reset(&["--to-offset", "1"], true).0, "1");
    assert_eq!(reset(&["--to-earliest"], true).0, "0");
    // Timestamps are 1000 ms apart from 1000: 3.5 s in is offset 3.
    assert_eq!(
        reset(&["--to-datetime", "1970-01-01T00:00:03.500"], true).0,
        "3"
    );
    assert_eq!(committed(dir.path(), "setup"), Some(3));
    let two = tidelog(
        &[
            "groups",
            "reset-offsets",
            "--dir",
            d,
            "--group",
            "setup",
            "--topic",
            "orders",
            "--to-earliest",
            "--to-latest",
        ],
        "",
    );
    assert_eq!(two.status.code(), Some(2));
}

#[test]
fn dump_log_decodes_a_segment() {
    let _serial = serial();
    let dir = prepared(3);
    let segment = dir
        .path()
        .join("broker-0")
        .join("orders-0")
        .join("00000000000000000000.log");
    let segment = segment.to_str().unwrap();
    let out = ok(&["dump-log", "--print-data-log", segment], "");
    assert!(out.starts_with(&format!("Dumping {segment}\n")), "{out}");
    assert_eq!(out.matches("baseOffset: ").count(), 3, "{out}");
    assert!(
        out.contains("| offset: 2 CreateTime: 3000 key: k2 payload: v2"),
        "{out}"
    );
    let missing = tidelog(&["dump-log", "no-such.log"], "");
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("no-such.log"));
}

#[test]
fn a_directory_open_elsewhere_is_refused_with_a_clear_message() {
    let _serial = serial();
    let dir = prepared(0);
    let d = dir.path().to_str().unwrap();
    let log = Log::open(dir.path()).unwrap();
    for args in [
        vec!["topics", "list", "--dir", d],
        vec!["groups", "list", "--dir", d],
        vec!["consume", "--dir", d, "--topic", "orders"],
    ] {
        let output = tidelog(&args, "");
        assert_eq!(output.status.code(), Some(1));
        let message = stderr(&output);
        assert!(message.contains("is already open"), "{message}");
        assert!(
            message.contains("stop the process that has it open"),
            "{message}"
        );
    }
    log.close().unwrap();
    assert_eq!(ok(&["topics", "list", "--dir", d], ""), "orders\n");
}

#[test]
fn bad_command_lines_are_refused_and_help_is_answered() {
    let _serial = serial();
    let dir = prepared(0);
    let d = dir.path().to_str().unwrap();
    let typo = tidelog(&["topics", "list", "--dri", d], "");
    assert_eq!(typo.status.code(), Some(2));
    assert!(stderr(&typo).contains("unknown argument \"--dri\""));
    let nothing = tidelog(&[], "");
    assert_eq!(nothing.status.code(), Some(2));
    for args in [
        &["--help"][..],
        &["topics", "--help"],
        &["consume", "--help"],
        &["groups", "reset-offsets", "--help"],
    ] {
        let help = tidelog(args, "");
        assert!(help.status.success(), "{args:?}");
        assert!(stdout(&help).starts_with("usage: tidelog"), "{args:?}");
    }
    let no_dir = tidelog(&["groups", "list"], "");
    assert_eq!(no_dir.status.code(), Some(2));
    assert!(stderr(&no_dir).contains("--dir is required"));
}

/// A `tidelog serve` process, killed if a test ends before stopping it.
#[cfg(unix)]
struct Serving(std::process::Child);

#[cfg(unix)]
impl Drop for Serving {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// ApiVersions v0 to `addr`: the response's correlation id and error code.
#[cfg(unix)]
fn api_versions(addr: &str) -> ([u8; 4], [u8; 2]) {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    // Size 10, api key 18, version 0, correlation id 7, null client id.
    stream
        .write_all(&[0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 7, 0xff, 0xff])
        .unwrap();
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).unwrap();
    let mut body = vec![0u8; u32::from_be_bytes(size) as usize];
    stream.read_exact(&mut body).unwrap();
    (
        body[0..4].try_into().unwrap(),
        body[4..6].try_into().unwrap(),
    )
}

#[cfg(unix)]
#[test]
fn serve_prints_the_bootstrap_address_answers_kafka_and_stops_on_a_signal() {
    let _serial = serial();
    use std::io::BufRead;
    for signal in ["-TERM", "-INT"] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        let mut serving = Serving(
            Command::new(env!("CARGO_BIN_EXE_tidelog"))
                .args(["serve", "--dir", d, "--listen", "127.0.0.1:0"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let mut line = String::new();
        let stdout = serving.0.stdout.take().unwrap();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let addrs: Vec<&str> = line.trim().split(',').collect();
        assert_eq!(addrs.len(), 3, "one address per broker: {line:?}");
        for addr in &addrs {
            assert_eq!(api_versions(addr), ([0, 0, 0, 7], [0, 0]), "{addr}");
        }

        let pid = serving.0.id().to_string();
        assert!(Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success());
        let status = serving.0.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(&mut serving.0.stderr.take().unwrap(), &mut err).unwrap();
        assert!(status.success(), "{signal}: {status:?} {err}");
        // A clean stop released the directory and left it consistent.
        Log::open(dir.path()).unwrap().close().unwrap();
    }
}

#[test]
fn serve_refuses_a_listen_address_that_is_not_an_ip_and_a_port() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for listen in ["localhost:9092", "127.0.0.1", "127.0.0.1:70000"] {
        let output = tidelog(&["serve", "--dir", d, "--listen", listen], "");
        assert_eq!(output.status.code(), Some(2), "{listen}");
        assert!(stderr(&output).contains("--listen"), "{}", stderr(&output));
    }
}
