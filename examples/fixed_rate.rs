//! A load generator that holds a fixed request rate (wrk cannot: it sends as fast as answers
//! come back, so a slow answer delays the requests behind it and hides itself). Requests are
//! due every 1/RATE seconds from the start, whatever the answers do; each one's latency runs
//! from the moment it was due to the end of its answer, so waiting for a free connection
//! counts (no "coordinated omission"). `scripts/load-run.sh` uses it for the pages.
//!
//! Run: `cargo run --release --example fixed_rate -- URL RATE SECONDS [CONNECTIONS] [HEADER...]`
//! e.g. `fixed_rate http://127.0.0.1:18080/home 500 10 16 'Cookie: sp_session=...'`.
//! Prints the rate held, p50/p90/p99/p99.9/max latency, the answers' statuses and bytes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Mutex};

struct Target {
    addr: String,
    request: Vec<u8>,
}

/// One answer on a keep-alive connection: its status and body length.
async fn exchange(stream: &mut TcpStream, target: &Target) -> std::io::Result<(u16, usize)> {
    stream.write_all(&target.request).await?;
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut chunk = [0u8; 64 * 1024];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::other("connection closed before the header"));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == "content-length").then(|| v.trim().parse::<usize>().ok())?
    });
    match length {
        Some(length) => {
            while buf.len() < head_end + length {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::Error::other("answer cut short"));
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            Ok((status, length))
        }
        // Chunked: to the last (empty) chunk.
        None => {
            while !buf[head_end..].ends_with(b"0\r\n\r\n") {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::Error::other("chunked answer cut short"));
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            Ok((status, buf.len() - head_end))
        }
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: fixed_rate http://HOST:PORT/PATH RATE SECONDS [CONNECTIONS] ['Name: value'...]"
    );
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        usage();
    }
    let Some(rest) = args[0].strip_prefix("http://") else {
        usage();
    };
    let (addr, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let rate: f64 = args[1].parse().unwrap_or_else(|_| usage());
    let seconds: f64 = args[2].parse().unwrap_or_else(|_| usage());
    let connections: usize = args.get(3).and_then(|c| c.parse().ok()).unwrap_or(16);
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/html\r\n");
    for h in args.iter().skip(4) {
        request.push_str(h);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let target = Arc::new(Target {
        addr: addr.to_string(),
        request: request.into_bytes(),
    });
    let total = (rate * seconds).round() as usize;

    // The pacing thread: a plain OS thread sleeps to each due time far more precisely than
    // the async timer (whose ticks are whole milliseconds).
    let (due_tx, due_rx) = mpsc::unbounded_channel::<Instant>();
    let start = Instant::now() + Duration::from_millis(200);
    let pacer = std::thread::spawn(move || {
        let period = Duration::from_secs_f64(1.0 / rate);
        for k in 0..total {
            let due = start + period * k as u32;
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if due_tx.send(due).is_err() {
                break;
            }
        }
    });

    // One thread for the client: the server under test keeps the other core.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let results = rt.block_on(async move {
        let due_rx = Arc::new(Mutex::new(due_rx));
        let mut workers = Vec::new();
        for _ in 0..connections {
            let due_rx = due_rx.clone();
            let target = target.clone();
            workers.push(tokio::spawn(async move {
                let mut out: Vec<(Duration, u16, usize)> = Vec::new();
                let mut stream: Option<TcpStream> = None;
                loop {
                    let Some(due) = due_rx.lock().await.recv().await else {
                        break;
                    };
                    let mut answer = Err(std::io::Error::other("not sent"));
                    // A connection the server closed is opened again once.
                    for _ in 0..2 {
                        if stream.is_none() {
                            match TcpStream::connect(&target.addr).await {
                                Ok(s) => {
                                    let _ = s.set_nodelay(true);
                                    stream = Some(s);
                                }
                                Err(e) => {
                                    answer = Err(e);
                                    break;
                                }
                            }
                        }
                        answer = exchange(stream.as_mut().expect("a connection"), &target).await;
                        if answer.is_ok() {
                            break;
                        }
                        stream = None;
                    }
                    let (status, bytes) = answer.unwrap_or((0, 0));
                    out.push((due.elapsed(), status, bytes));
                }
                out
            }));
        }
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.await.expect("a worker"));
        }
        all
    });
    pacer.join().expect("the pacer");
    let elapsed = start.elapsed().as_secs_f64();

    let mut latencies: Vec<Duration> = results.iter().map(|r| r.0).collect();
    latencies.sort();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    let ok = results.iter().filter(|r| (200..300).contains(&r.1)).count();
    let bytes: Vec<usize> = results.iter().map(|r| r.2).collect();
    println!(
        "{} requests in {elapsed:.2} s: {:.0} requests/s (asked {rate:.0}); {ok} answered 2xx, {} not",
        results.len(),
        results.len() as f64 / elapsed,
        results.len() - ok
    );
    if latencies.is_empty() {
        return;
    }
    println!(
        "latency from the due time: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(0.999),
        pct(1.0)
    );
    println!(
        "body: {} to {} bytes",
        bytes.iter().min().unwrap_or(&0),
        bytes.iter().max().unwrap_or(&0)
    );
    if ok < results.len() {
        std::process::exit(1);
    }
}
