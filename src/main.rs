//! Binary entry point: parses configuration, sets up stderr logging and runs
//! the MCP server on stdin and stdout.

use std::time::Duration;

use clap::Parser;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use mcp_code_index::config::Config;

/// Time the runtime waits at exit for blocking work still running, such as a
/// job that ignored the shutdown grace period.
const EXIT_WAIT: Duration = Duration::from_secs(1);

fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    // stdout carries only JSON-RPC messages, so every log line goes to stderr.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        let signal_token = shutdown.clone();
        tokio::spawn(async move {
            wait_for_termination().await;
            signal_token.cancel();
        });
        mcp_code_index::mcp::run(config, rmcp::transport::stdio(), shutdown).await
    });
    runtime.shutdown_timeout(EXIT_WAIT);
    result
}

/// Resolves on SIGTERM or Ctrl-C.
async fn wait_for_termination() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler succeeds");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
