//! Benchmarks of webhook delivery through the real notifier and SQLite store:
//! signed deliveries per second, latency from a job's end to the receiver's
//! first byte, and process memory while a backlog to a down receiver drains.
//!
//! Run with `cargo bench --bench delivery`; it prints a Markdown table for
//! docs/BENCHMARKS.md. `BENCH_DELIVERIES` (default 20000), `BENCH_LATENCY_SAMPLES`
//! (default 500) and `BENCH_BACKLOG` (default 100000) set the sizes. Under
//! `cargo test` it runs with small sizes.
//!
//! The receiver is a minimal HTTP/1.1 server on 127.0.0.1 in the same process
//! and runtime as the notifier, so both share the machine's CPUs.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use mcp_code_index::jobs::model::{Job, JobStatus, JobType, Metrics, Progress, ResultData};
use mcp_code_index::store::{
    DataDir, Database, JobStore, OutboxMessage, SqliteJobStore, WebhookStore,
};
use mcp_code_index::time_fmt::now;
use mcp_code_index::webhook::build_payload;
use mcp_code_index::webhook::notifier::unix_ms;
use mcp_code_index::webhook::retry::RetryPolicy;
use mcp_code_index::webhook::signing::SigningSecret;
use mcp_code_index::webhook::{Notifier, NotifierConfig};
use serde_json::json;
use sha2::Sha256;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Signing secret of every run. Its key is 32 bytes after base64 decoding.
const SECRET: &str = "whsec_ZGVsaXZlcnktYmVuY2htYXJrLXNpZ25pbmcta2V5LTA=";
/// Largest request head the receiver accepts before it drops the connection.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Upper bound on requests served over one kept-alive connection.
const MAX_REQUESTS_PER_CONNECTION: usize = 10_000_000;
/// Interval between checks of the outbox while waiting for the notifier.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One request seen by the receiver.
struct Arrival {
    webhook_id: String,
    /// When the first byte of the request was read.
    first_byte: Instant,
    /// True if one of the `webhook-signature` values is the HMAC-SHA256 of
    /// `{id}.{timestamp}.{body}` under [`SECRET`].
    signature_valid: bool,
}

/// Accepts connections on `listener` until `stop` is cancelled and reports
/// every request on `arrivals`.
async fn run_receiver(
    listener: TcpListener,
    arrivals: mpsc::UnboundedSender<Arrival>,
    stop: CancellationToken,
) {
    let key: Arc<[u8]> = STANDARD
        .decode(SECRET.trim_start_matches("whsec_"))
        .expect("the benchmark secret is valid base64")
        .into();
    loop {
        let stream = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    eprintln!("receiver: accepting a connection failed: {error}");
                    continue;
                }
            },
        };
        let arrivals = arrivals.clone();
        let key = key.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = serve_connection(stream, arrivals, key) => {}
            }
        });
    }
}

/// Reads more bytes into `buffer`. Returns 0 at end of stream.
async fn read_some(stream: &TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        stream.readable().await?;
        match stream.try_read(&mut chunk) {
            Ok(read) => {
                buffer.extend_from_slice(&chunk[..read]);
                return Ok(read);
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(error) => return Err(error),
        }
    }
}

async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(written) => bytes = &bytes[written..],
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Serves HTTP/1.1 requests on one connection, responding to each with an
/// empty 200, until the client closes it or sends something unreadable.
async fn serve_connection(
    stream: TcpStream,
    arrivals: mpsc::UnboundedSender<Arrival>,
    key: Arc<[u8]>,
) {
    let mut buffer = Vec::new();
    for _ in 0..MAX_REQUESTS_PER_CONNECTION {
        // Bytes left from the previous read already belong to this request.
        let mut first_byte = (!buffer.is_empty()).then(Instant::now);
        let head_end = loop {
            if let Some(position) = find(&buffer, b"\r\n\r\n") {
                break position + 4;
            }
            if buffer.len() > MAX_HEAD_BYTES {
                eprintln!("receiver: request head longer than {MAX_HEAD_BYTES} bytes");
                return;
            }
            match read_some(&stream, &mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    first_byte.get_or_insert_with(Instant::now);
                }
            }
        };
        let Some(first_byte) = first_byte else {
            return;
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        let header = |name: &str| {
            head.lines().skip(1).find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_string())
            })
        };
        let Some(length) = header("content-length").and_then(|v| v.parse::<usize>().ok()) else {
            eprintln!("receiver: request without a valid Content-Length");
            return;
        };
        while buffer.len() < head_end + length {
            match read_some(&stream, &mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
        let body = &buffer[head_end..head_end + length];
        let webhook_id = header("webhook-id").unwrap_or_default();
        let signature_valid = match (header("webhook-timestamp"), header("webhook-signature")) {
            (Some(timestamp), Some(signatures)) => {
                let expected = sign(&key, &webhook_id, &timestamp, body);
                signatures.split(' ').any(|value| value == expected)
            }
            _ => false,
        };
        buffer.drain(..head_end + length);

        let response = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        if write_all(&stream, response).await.is_err() {
            return;
        }
        let arrival = Arrival {
            webhook_id,
            first_byte,
            signature_valid,
        };
        if arrivals.send(arrival).is_err() {
            return;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Computes the Standard Webhooks `v1,<base64>` signature independently of
/// the crate's signing module.
fn sign(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// A receiver listening on 127.0.0.1.
struct Receiver {
    url: String,
    arrivals: mpsc::UnboundedReceiver<Arrival>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

async fn start_receiver() -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("receiver binds a loopback port");
    let address = listener.local_addr().expect("listener has an address");
    let (sender, arrivals) = mpsc::unbounded_channel();
    let stop = CancellationToken::new();
    let task = tokio::spawn(run_receiver(listener, sender, stop.clone()));
    Receiver {
        url: format!("http://{address}/hooks/job-finished"),
        arrivals,
        stop,
        task,
    }
}

impl Receiver {
    async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// A data directory with the job store and a running notifier.
struct Service {
    /// Keeps the data directory's lock until the service is dropped.
    _data_dir: DataDir,
    store: Arc<SqliteJobStore>,
    /// A second connection to the same database, so that progress checks do
    /// not wait on the notifier's connection.
    observer: Database,
    notifier: Notifier,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

fn start_service(root: &std::path::Path, retry: RetryPolicy) -> Service {
    let data_dir = DataDir::open(Some(root)).expect("data dir opens");
    let db = Arc::new(Database::open(&data_dir.database_path()).expect("database opens"));
    let store = Arc::new(SqliteJobStore::new(db.clone()));
    let webhooks = Arc::new(WebhookStore::new(db));
    let config = NotifierConfig {
        secrets: vec![SigningSecret::parse(SECRET).expect("the benchmark secret is valid")],
        retry,
        ..NotifierConfig::default()
    };
    let shutdown = CancellationToken::new();
    let store_for_notifier: Arc<dyn JobStore> = store.clone();
    let (notifier, task) = Notifier::spawn(config, store_for_notifier, webhooks, shutdown.clone());
    let observer = Database::open(&data_dir.database_path()).expect("second connection opens");
    Service {
        _data_dir: data_dir,
        store,
        observer,
        notifier,
        shutdown,
        task,
    }
}

impl Service {
    async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(30), self.task).await;
    }

    fn count(&self, sql: &str) -> i64 {
        self.observer
            .read(|conn| conn.query_row(sql, [], |row| row.get(0)))
            .expect("count query runs")
    }
}

/// Builds a running file-processing job whose metadata names `url` as its
/// webhook.
fn running_job(url: &str, number: usize) -> Job {
    let metadata = json!({
        "file_path": format!("/bench/src/module_{number}.py"),
        "webhook_url": url,
    });
    let mut job = Job::new(
        JobType::FileProcessing,
        "bench_user".to_string(),
        metadata.as_object().expect("metadata is an object").clone(),
    );
    job.status = JobStatus::Running;
    job.started_at = Some(now());
    job
}

/// Marks a job completed with the result fields a real file job fills in.
fn complete(job: &mut Job) {
    let file_path = job.metadata["file_path"].as_str().unwrap_or("").to_string();
    job.status = JobStatus::Completed;
    job.finished_at = Some(now());
    job.progress = Progress {
        files_total: 1,
        files_processed: 1,
        chunks_processed: 12,
        ..Progress::default()
    };
    job.result = Some(ResultData {
        chunks_processed: 12,
        file_path,
        language: Some("python".to_string()),
        ..ResultData::default()
    });
    job.metrics = Some(Metrics {
        processing_time_ms: 40,
        chunks_count: 12,
        file_size_bytes: 4_096,
    });
}

/// Builds the outbox message for a finished job's own webhook URL, as the job
/// manager does.
fn message_for(job: &Job) -> OutboxMessage {
    OutboxMessage {
        message_id: format!("msg_{}", job.id.to_string().replace('-', "")),
        job_id: job.id,
        url: job.webhook_url().unwrap_or("").to_string(),
        body: serde_json::to_vec(&build_payload(job)).expect("the payload serializes"),
        attempts: 0,
        next_attempt_ms: unix_ms(),
        webhook_id: None,
        event: "job.completed".to_string(),
    }
}

/// Stores `count` completed jobs, then queues their outbox messages with one
/// `enqueue` call, so that the notifier reads all of them or none. Returns the
/// time spent in `enqueue`.
fn seed(store: &SqliteJobStore, url: &str, count: usize) -> Duration {
    let mut messages = Vec::with_capacity(count);
    for number in 0..count {
        let mut job = running_job(url, number);
        complete(&mut job);
        store.insert(&job).expect("job is stored");
        messages.push(message_for(&job));
    }
    let started = Instant::now();
    store.enqueue(&messages).expect("messages are queued");
    started.elapsed()
}

/// Writes `count` completed jobs and their outbox messages, in state `state`,
/// with plain SQL on `db` in one transaction. `enqueue` computes each new
/// row's `created_seq` with `MAX(created_seq)` over the whole outbox, which
/// has no index on that column, so seeding a large outbox through it takes
/// time quadratic in its size. The columns written here are the ones `insert`
/// and `enqueue` write.
fn seed_directly(db: &Database, url: &str, count: usize, state: &str) {
    db.write(|tx| {
        for number in 0..count {
            let mut job = running_job(url, number);
            complete(&mut job);
            let record = serde_json::to_string(&job).expect("the job serializes");
            tx.execute(
                "INSERT INTO jobs (id, user_id, status, record) VALUES (?1, ?2, ?3, ?4)",
                (
                    job.id.to_string(),
                    &job.user_id,
                    job.status.as_str(),
                    record,
                ),
            )?;
            let message = message_for(&job);
            tx.execute(
                "INSERT INTO outbox (message_id, job_id, url, body, state, attempts,
                                     next_attempt_ms, created_seq, webhook_id, event)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, NULL, ?8)",
                (
                    &message.message_id,
                    message.job_id.to_string(),
                    &message.url,
                    &message.body,
                    state,
                    message.next_attempt_ms,
                    number as i64 + 1,
                    &message.event,
                ),
            )?;
        }
        Ok(())
    })
    .expect("seed rows are written");
}

/// Waits until `done` returns true, checking every `interval`. Returns the
/// elapsed time, or `None` after `limit`.
async fn wait_until(
    limit: Duration,
    interval: Duration,
    mut done: impl FnMut() -> bool,
) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if done() {
            return Some(started.elapsed());
        }
        tokio::time::sleep(interval).await;
    }
    done().then(|| started.elapsed())
}

struct ThroughputResult {
    deliveries: usize,
    enqueue_time: Duration,
    elapsed: Duration,
    invalid_signatures: usize,
    /// Requests that repeated a `webhook-id` the receiver had already seen.
    duplicates: usize,
    /// Rows in the delivery log. More than `deliveries` means repeated attempts.
    recorded_attempts: i64,
}

/// Queues `count` messages while the notifier is idle, wakes it, and times
/// until every message is recorded as delivered.
async fn measure_throughput(root: &std::path::Path, count: usize) -> ThroughputResult {
    let mut receiver = start_receiver().await;
    let service = start_service(root, RetryPolicy::default());
    let enqueue_time = seed(&service.store, &receiver.url, count);

    // The delivery log's AUTOINCREMENT id reads in constant time. The exact
    // count scans every delivered row, so it runs only once enough attempts
    // exist, which keeps the polling's CPU use away from the notifier.
    let attempts_so_far = "SELECT COALESCE(MAX(id), 0) FROM deliveries";
    let delivered = "SELECT count(*) FROM outbox WHERE state = 'delivered'";
    service.notifier.wake();
    let limit = Duration::from_secs(600);
    let elapsed = wait_until(limit, POLL_INTERVAL, || {
        service.count(attempts_so_far) >= count as i64 && service.count(delivered) == count as i64
    })
    .await
    .unwrap_or_else(|| panic!("{count} messages were not all delivered within {limit:?}"));

    let mut seen = HashSet::new();
    let mut invalid_signatures = 0;
    let mut duplicates = 0;
    while let Ok(arrival) = receiver.arrivals.try_recv() {
        invalid_signatures += usize::from(!arrival.signature_valid);
        duplicates += usize::from(!seen.insert(arrival.webhook_id));
    }
    assert_eq!(
        seen.len(),
        count,
        "the receiver saw a different number of messages"
    );
    let recorded_attempts = service.count("SELECT count(*) FROM deliveries");
    service.stop().await;
    receiver.stop().await;
    ThroughputResult {
        deliveries: count,
        enqueue_time,
        elapsed,
        invalid_signatures,
        duplicates,
        recorded_attempts,
    }
}

struct LatencyResult {
    /// Delivered messages in the outbox before the first sample.
    backlog: usize,
    /// From just before the finishing transaction to the receiver's first
    /// byte, sorted.
    latencies: Vec<Duration>,
    /// Duration of the finishing transaction alone, sorted.
    transactions: Vec<Duration>,
}

/// Finishes `samples` jobs one at a time, each with one message, and times
/// each from just before the finishing transaction to the first byte of its
/// request at the receiver. `backlog` delivered messages are first written to
/// the outbox, as a long-running server accumulates them.
async fn measure_latency(root: &std::path::Path, samples: usize, backlog: usize) -> LatencyResult {
    let mut receiver = start_receiver().await;
    let service = start_service(root, RetryPolicy::default());
    seed_directly(&service.observer, &receiver.url, backlog, "delivered");

    let mut latencies = Vec::with_capacity(samples);
    let mut transactions = Vec::with_capacity(samples);
    for number in 0..samples {
        let job = running_job(&receiver.url, number);
        service.store.insert(&job).expect("job is stored");
        let message_id = format!("msg_{}", job.id.to_string().replace('-', ""));

        let started = Instant::now();
        service
            .store
            .update_with_outbox(&job.id, &mut complete, &|job| vec![message_for(job)])
            .expect("job is finished")
            .expect("job exists");
        transactions.push(started.elapsed());
        service.notifier.wake();

        let arrival = tokio::time::timeout(Duration::from_secs(10), receiver.arrivals.recv())
            .await
            .unwrap_or_else(|_| panic!("message {message_id} did not arrive within 10 s"))
            .expect("receiver is running");
        assert_eq!(
            arrival.webhook_id, message_id,
            "an unexpected message arrived"
        );
        assert!(
            arrival.signature_valid,
            "message {message_id} has an invalid signature"
        );
        latencies.push(arrival.first_byte - started);

        // Let the notifier record the attempt and return to its idle wait.
        let delivered = format!(
            "SELECT count(*) FROM outbox WHERE message_id = '{message_id}' AND state = 'delivered'"
        );
        wait_until(Duration::from_secs(10), Duration::from_millis(1), || {
            service.count(&delivered) == 1
        })
        .await
        .unwrap_or_else(|| panic!("message {message_id} was not recorded as delivered"));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    service.stop().await;
    receiver.stop().await;
    latencies.sort();
    transactions.sort();
    LatencyResult {
        backlog,
        latencies,
        transactions,
    }
}

/// Returns the nearest-rank percentile of sorted values.
fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// Returns the resident set size of this process in KiB, from /proc/self/status.
fn rss_kib() -> u64 {
    let status =
        std::fs::read_to_string("/proc/self/status").expect("/proc/self/status is readable");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS is present")
}

struct MemoryResult {
    backlog: usize,
    before_kib: u64,
    /// RSS when a quarter of the backlog had its first attempt.
    quarter_kib: u64,
    /// Highest RSS after the quarter mark, including the sample after the end.
    late_peak_kib: u64,
    peak_kib: u64,
    /// RSS one second after the last first attempt.
    after_kib: u64,
    elapsed: Duration,
    failed_attempts: i64,
    /// Messages attempted more than once although their retry was an hour away.
    repeated: i64,
    /// Total size of the queued message bodies.
    body_bytes: i64,
}

/// Queues `backlog` messages to a closed port on 127.0.0.1 with a retry
/// schedule that keeps them pending, and samples RSS every 100 ms while the
/// notifier makes one attempt at each.
async fn measure_memory(root: &std::path::Path, backlog: usize) -> MemoryResult {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a loopback port is free")
        .port();
    let url = format!("http://127.0.0.1:{closed_port}/hooks/job-finished");
    // Every retry is an hour away, so after one failed attempt each message
    // stays pending and the run ends when all have been tried once.
    let retry = RetryPolicy {
        delays: vec![Duration::from_secs(3600); 7],
        ..RetryPolicy::default()
    };
    let service = start_service(root, retry);
    seed_directly(&service.observer, &url, backlog, "pending");
    let body_bytes = service.count("SELECT sum(length(body)) FROM outbox");

    // Attempts so far, including repeated ones. The AUTOINCREMENT id of a fresh
    // table reads in constant time, unlike a count over the outbox, which runs
    // only once enough attempts exist.
    let attempted = "SELECT COALESCE(MAX(id), 0) FROM deliveries";
    let untried = "SELECT count(*) FROM outbox WHERE attempts = 0";
    let quarter = (backlog / 4) as i64;
    let before_kib = rss_kib();
    let mut peak_kib = before_kib;
    let mut quarter_kib = None;
    let mut late_peak_kib = 0;
    let started = Instant::now();
    let limit = Duration::from_secs(1200);
    service.notifier.wake();
    loop {
        let attempts = service.count(attempted);
        let rss = rss_kib();
        peak_kib = peak_kib.max(rss);
        if quarter_kib.is_none() && attempts >= quarter {
            quarter_kib = Some(rss);
        }
        if quarter_kib.is_some() {
            late_peak_kib = late_peak_kib.max(rss);
        }
        if attempts >= backlog as i64 && service.count(untried) == 0 {
            break;
        }
        assert!(
            started.elapsed() < limit,
            "{attempts} of {backlog} messages attempted after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after_kib = rss_kib();
    peak_kib = peak_kib.max(after_kib);
    late_peak_kib = late_peak_kib.max(after_kib);

    let still_pending = service.count("SELECT count(*) FROM outbox WHERE state = 'pending'");
    assert_eq!(
        still_pending, backlog as i64,
        "messages left the pending state"
    );
    let failed_attempts = service.count("SELECT count(*) FROM deliveries WHERE outcome = 'failed'");
    let repeated = service.count("SELECT count(*) FROM outbox WHERE attempts > 1");
    service.stop().await;
    MemoryResult {
        backlog,
        before_kib,
        quarter_kib: quarter_kib.unwrap_or(before_kib),
        late_peak_kib,
        peak_kib,
        after_kib,
        elapsed,
        failed_attempts,
        repeated,
        body_bytes,
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    // `cargo bench` passes --bench. Without it (`cargo test --all-targets`),
    // a small run checks that the benchmark still works.
    let full = std::env::args().any(|arg| arg == "--bench");
    let deliveries = env_usize("BENCH_DELIVERIES", if full { 20_000 } else { 500 });
    let samples = env_usize("BENCH_LATENCY_SAMPLES", if full { 500 } else { 20 });
    let backlog = env_usize("BENCH_BACKLOG", if full { 100_000 } else { 2_000 });
    let scratch = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime starts");

    // Memory runs first, before the other runs leave freed heap behind that
    // would hide growth.
    let memory = runtime.block_on(measure_memory(&scratch.path().join("memory"), backlog));
    let throughput = runtime.block_on(measure_throughput(
        &scratch.path().join("throughput"),
        deliveries,
    ));
    let latency = runtime.block_on(measure_latency(&scratch.path().join("latency"), samples, 0));
    let latency_after = runtime.block_on(measure_latency(
        &scratch.path().join("latency_after"),
        samples,
        deliveries,
    ));

    print_table(&throughput, &latency, &latency_after, &memory);
}

fn print_table(
    throughput: &ThroughputResult,
    latency: &LatencyResult,
    latency_after: &LatencyResult,
    memory: &MemoryResult,
) {
    let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
    let rate = throughput.deliveries as f64 / throughput.elapsed.as_secs_f64();
    println!("| measurement | result | target |");
    println!("|---|---|---|");
    println!(
        "| queue {} messages in one `enqueue` call (setup) | {:.1} s | |",
        throughput.deliveries,
        throughput.enqueue_time.as_secs_f64()
    );
    println!(
        "| signed deliveries per second, {} queued messages, until all are recorded as delivered | {rate:.0}/s ({:.1} s; {} invalid signatures, {} repeated requests, {} attempts recorded) | at least 2,000/s |",
        throughput.deliveries,
        throughput.elapsed.as_secs_f64(),
        throughput.invalid_signatures,
        throughput.duplicates,
        throughput.recorded_attempts
    );
    for run in [latency, latency_after] {
        println!(
            "| job end to receiver's first byte, {} jobs one at a time, {} delivered messages already in the outbox | p50 {:.2} ms, p99 {:.2} ms (finishing transaction alone: p50 {:.2} ms) | p50 under 5 ms |",
            run.latencies.len(),
            run.backlog,
            ms(percentile(&run.latencies, 50)),
            ms(percentile(&run.latencies, 99)),
            ms(percentile(&run.transactions, 50))
        );
    }
    println!(
        "| RSS while {} pending messages ({:.1} MiB of bodies) to a closed port get their first attempt | {:.1} MiB before, {:.1} MiB at 25 %, peak {:.1} MiB (+{:.1} MiB over before, +{:.1} MiB after 25 %), {:.1} MiB after; {} failed attempts in {:.1} s; messages attempted twice: {} | flat |",
        memory.backlog,
        memory.body_bytes as f64 / (1024.0 * 1024.0),
        mib(memory.before_kib),
        mib(memory.quarter_kib),
        mib(memory.peak_kib),
        mib(memory.peak_kib - memory.before_kib),
        mib(memory.late_peak_kib.saturating_sub(memory.quarter_kib)),
        mib(memory.after_kib),
        memory.failed_attempts,
        memory.elapsed.as_secs_f64(),
        memory.repeated
    );
}
