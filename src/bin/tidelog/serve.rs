//! `tidelog serve`: a data directory as a Kafka cluster on the network, one
//! listening port per simulated broker, until SIGINT (Ctrl-C) or SIGTERM.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tidelog::kafka::KafkaServer;
use tidelog::Log;

use crate::args::{required, Args};
use crate::error::CliError;

const USAGE: &str = "\
usage: tidelog serve --dir D [--listen HOST:PORT] [--brokers N]

Opens the data directory D and speaks Kafka's protocol on it, like a Kafka
cluster of N brokers (default: the Log's, 3 for a new directory). Broker i
listens on PORT+i (PORT 0: ports the OS picks); the first line printed is the
value for a client's bootstrap.servers. Stops cleanly, flushing the log, on
Ctrl-C or SIGTERM.

  --listen HOST:PORT   an IP address and the first broker's port (default 127.0.0.1:9092)
  --brokers N          simulated brokers of a new data directory";

const DEFAULT_LISTEN: &str = "127.0.0.1:9092";

pub(crate) fn run(args: &mut Args) -> Result<(), CliError> {
    args.set_usage(USAGE);
    let mut dir = None;
    let mut listen = DEFAULT_LISTEN.to_string();
    let mut brokers = None;
    while let Some(word) = args.next()? {
        match word.as_str() {
            "--dir" => dir = Some(PathBuf::from(args.value("--dir")?)),
            "--listen" => listen = args.value("--listen")?,
            "--brokers" => brokers = Some(args.parsed::<u32>("--brokers")?),
            other => return Err(args.unknown(other)),
        }
    }
    let dir = required(dir, "--dir", args)?;
    let (host, port) = parse_listen(&listen, args)?;
    // Handlers go in before anything is opened, so a signal that comes while
    // the log recovers still ends in a clean close.
    let stop = stop_signal::install()?;

    let mut builder = Log::builder(&dir);
    if let Some(brokers) = brokers {
        builder = builder.brokers(brokers);
    }
    let log = Arc::new(builder.open()?);
    let ports = broker_ports(port, log.cluster().brokers().len()).ok_or_else(|| {
        args.error(format!(
            "--listen: port {port} leaves no room for every broker"
        ))
    })?;
    let server = KafkaServer::start_on(Arc::clone(&log), &host, &ports)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", server.bootstrap_servers())?;
    stdout.flush()?;
    drop(stdout);

    stop.wait();
    server.shutdown();
    match Arc::try_unwrap(log) {
        Ok(log) => log.close()?,
        // The server joined its threads, so no other handle is left; if one
        // were, dropping it still flushes and closes.
        Err(log) => drop(log),
    }
    Ok(())
}

/// `HOST:PORT` with an IP address for HOST: the address is advertised to
/// clients as it is, so a name that resolves elsewhere would mislead them.
fn parse_listen(listen: &str, args: &Args) -> Result<(String, u16), CliError> {
    let bad = |why: &str| args.error(format!("--listen {listen:?}: {why}"));
    let (host, port) = listen
        .rsplit_once(':')
        .ok_or_else(|| bad("expected HOST:PORT"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.parse::<IpAddr>()
        .map_err(|_| bad("HOST must be an IP address such as 127.0.0.1"))?;
    let port = port
        .parse::<u16>()
        .map_err(|_| bad("PORT must be 0 to 65535"))?;
    Ok((host.to_string(), port))
}

/// One port per broker from `first` up, or all 0 (the OS picks) for 0.
fn broker_ports(first: u16, brokers: usize) -> Option<Vec<u16>> {
    if first == 0 {
        return Some(vec![0; brokers]);
    }
    (0..brokers)
        .map(|i| u16::try_from(i).ok().and_then(|i| first.checked_add(i)))
        .collect()
}

/// Waiting for the signal that ends `serve`. On Unix that is SIGINT or
/// SIGTERM; elsewhere (no such signals) it is the end of standard input.
mod stop_signal {
    use crate::error::CliError;

    pub(super) struct Stop {
        #[cfg(unix)]
        signals: signal_hook::iterator::Signals,
    }

    #[cfg(unix)]
    pub(super) fn install() -> Result<Stop, CliError> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
        Ok(Stop { signals })
    }

    #[cfg(not(unix))]
    pub(super) fn install() -> Result<Stop, CliError> {
        Ok(Stop {})
    }

    impl Stop {
        #[cfg(unix)]
        pub(super) fn wait(mut self) {
            // The first signal ends the wait; the handlers stay until exit,
            // so a second Ctrl-C during the close does not cut it short.
            let _ = self.signals.forever().next();
        }

        #[cfg(not(unix))]
        pub(super) fn wait(self) {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> Args {
        Args::new(Vec::new())
    }

    #[test]
    fn listen_takes_an_ip_address_and_a_port() {
        let a = args();
        assert_eq!(
            parse_listen("127.0.0.1:9092", &a).ok(),
            Some(("127.0.0.1".to_string(), 9092))
        );
        assert_eq!(
            parse_listen("[::1]:0", &a).ok(),
            Some(("::1".to_string(), 0))
        );
        for bad in [
            "localhost:9092",
            "127.0.0.1",
            "127.0.0.1:99999",
            ":9092",
            "1.2.3.4:x",
        ] {
            assert!(parse_listen(bad, &a).is_err(), "{bad}");
        }
    }

    #[test]
    fn brokers_listen_on_consecutive_ports_or_all_on_os_chosen_ones() {
        assert_eq!(broker_ports(9092, 3), Some(vec![9092, 9093, 9094]));
        assert_eq!(broker_ports(0, 2), Some(vec![0, 0]));
        assert_eq!(broker_ports(65535, 1), Some(vec![65535]));
        assert_eq!(broker_ports(65535, 2), None);
    }
}
