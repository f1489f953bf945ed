//! The optional Prometheus scrape (`--metrics HOST:PORT`): broker-wide
//! produce and fetch byte counters, and each partition's log end offset
//! (which Kafka's client APIs only expose through DescribeQuorum). One plain
//! HTTP/1.0 GET of `/metrics`; the text format is parsed line by line.

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::model::BrokerCounters;

/// What one scrape found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scraped {
    /// Byte counters.
    pub counters: BrokerCounters,
    /// Log end offset by `(topic, partition)`.
    pub log_end: HashMap<(String, i32), i64>,
}

/// The most bytes read from the endpoint.
const MAX_BODY: u64 = 32 << 20;

/// Scrapes `http://ADDR/metrics`.
pub async fn scrape(addr: &str, timeout: Duration) -> Result<Scraped, String> {
    let fetch = async {
        let mut s = TcpStream::connect(addr).await?;
        let req = format!("GET /metrics HTTP/1.0\r\nHost: {addr}\r\nAccept: text/plain\r\n\r\n");
        s.write_all(req.as_bytes()).await?;
        let mut body = Vec::new();
        s.take(MAX_BODY).read_to_end(&mut body).await?;
        Ok::<_, std::io::Error>(body)
    };
    let body = tokio::time::timeout(timeout, fetch)
        .await
        .map_err(|_| format!("metrics endpoint {addr} timed out"))?
        .map_err(|e| format!("metrics endpoint {addr}: {e}"))?;
    let text = String::from_utf8_lossy(&body);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("metrics endpoint {addr}: not an HTTP answer"))?;
    let ok = head.starts_with("HTTP/1.") && head.split_whitespace().nth(1) == Some("200");
    if !ok {
        let status = head.lines().next().unwrap_or_default();
        return Err(format!("metrics endpoint {addr}: {status}"));
    }
    Ok(parse(body))
}

/// Parses the exposition text.
pub fn parse(text: &str) -> Scraped {
    let mut out = Scraped::default();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.trim().parse::<f64>() else {
            continue;
        };
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (n, l.trim_end_matches('}')),
            None => (series, ""),
        };
        match name {
            "holocron_produce_bytes_total" => out.counters.produce_bytes = value as u64,
            "holocron_fetch_bytes_total" => out.counters.fetch_bytes = value as u64,
            "holocron_partition_log_end_offset" => {
                let label = |k: &str| {
                    labels.split(',').find_map(|kv| {
                        let (key, v) = kv.split_once('=')?;
                        (key.trim() == k).then(|| v.trim().trim_matches('"').to_owned())
                    })
                };
                if let (Some(t), Some(p)) = (label("topic"), label("partition")) {
                    if let Ok(p) = p.parse() {
                        out.log_end.insert((t, p), value as i64);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_counters_and_log_end_offsets() {
        let text = "# HELP holocron_produce_bytes Record batch bytes appended.\n\
            # TYPE holocron_produce_bytes counter\n\
            holocron_produce_bytes_total 12345\n\
            holocron_fetch_bytes_total 678\n\
            holocron_partition_log_end_offset{topic=\"orders\",partition=\"3\"} 42\n\
            holocron_requests_total{api=\"produce\"} 9\n";
        let s = parse(text);
        assert_eq!(s.counters.produce_bytes, 12345);
        assert_eq!(s.counters.fetch_bytes, 678);
        assert_eq!(s.log_end.get(&("orders".to_owned(), 3)), Some(&42));
        assert_eq!(s.log_end.len(), 1);
    }
}
