//! The MCP protocol surface and the service entry point that wires the job
//! manager, index, embedder and notifier to a transport.

mod server;
mod types;
mod view;

use std::sync::Arc;

use rmcp::ServiceExt;
use tokio_util::sync::CancellationToken;
use tracing::info;

pub use server::CodeIndexServer;

use crate::config::Config;
use crate::embed::{Embedder, HashingEmbedder};
use crate::index::{CodeIndex, HnswIndex};
use crate::jobs::JobManager;
use crate::store::{JobStore, MemoryJobStore};
use crate::webhook::Notifier;

/// Serves MCP on `transport` until the client disconnects (stdin closes) or
/// `shutdown` is cancelled, then waits up to the configured grace period for
/// running jobs and pending webhook deliveries.
pub async fn run<T, E, A>(
    config: Config,
    transport: T,
    shutdown: CancellationToken,
) -> anyhow::Result<()>
where
    T: rmcp::transport::IntoTransport<rmcp::RoleServer, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    let notifier_config = config.notifier_config().map_err(|message| {
        anyhow::anyhow!("{message} (from --webhook-secret or MCP_CODE_INDEX_WEBHOOK_SECRET)")
    })?;
    let store: Arc<dyn JobStore> = Arc::new(MemoryJobStore::new());
    let embedder: Arc<dyn Embedder> =
        Arc::new(HashingEmbedder::new(config.embedding_dimension as usize));
    let index: Arc<dyn CodeIndex> = Arc::new(HnswIndex::new(embedder.dimension()));
    let (notifier, notifier_task) = Notifier::spawn(notifier_config, store.clone());
    let jobs_shutdown = CancellationToken::new();
    let (jobs, dispatcher) = JobManager::start(
        store,
        index.clone(),
        embedder.clone(),
        notifier,
        config.jobs_config(),
        jobs_shutdown.clone(),
    );

    let server = CodeIndexServer::new(jobs.clone(), index, embedder);
    let service = server.serve(transport).await?;
    info!(
        version = env!("CARGO_PKG_VERSION"),
        "mcp-code-index serving"
    );
    let reason = tokio::select! {
        reason = service.waiting() => format!("{:?}", reason?),
        _ = shutdown.cancelled() => "shutdown signal".to_string(),
    };
    info!(%reason, "session ended; shutting down");

    jobs_shutdown.cancel();
    crate::jobs::manager::drain(dispatcher, config.shutdown_grace()).await;
    // The job manager holds the last notifier handle; dropping it lets the
    // notifier finish queued deliveries and stop.
    drop(jobs);
    if tokio::time::timeout(config.shutdown_grace(), notifier_task)
        .await
        .is_err()
    {
        tracing::warn!("webhook deliveries still pending at exit were dropped");
    }
    info!("stopped");
    Ok(())
}
