//! The MCP protocol surface and the service entry point that wires the job
//! manager, index, embedder and notifier to a transport.

mod server;
mod types;
mod view;
mod webhook_tools;

use std::sync::Arc;
use std::time::Duration;

use rmcp::ServiceExt;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

pub use server::CodeIndexServer;

use crate::config::Config;
use crate::index::{CodeIndex, PersistentIndex};
use crate::jobs::JobManager;
use crate::store::{DataDir, Database, JobStore, SqliteJobStore, WebhookStore};
use crate::webhook::Notifier;

/// How often changed graphs are saved to the data directory.
const FLUSH_INTERVAL: Duration = Duration::from_secs(30);

/// Serves MCP on `transport` until the client disconnects (stdin closes) or
/// `shutdown` is cancelled. Then it stops taking jobs, waits up to the grace
/// period for running jobs, makes one last delivery pass over due webhooks and
/// saves the index. Anything left unfinished resumes on the next start.
pub async fn run<T, E, A>(
    config: Config,
    transport: T,
    shutdown: CancellationToken,
) -> anyhow::Result<()>
where
    T: rmcp::transport::IntoTransport<rmcp::RoleServer, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    let notifier_config = config.notifier_config().map_err(anyhow::Error::msg)?;
    let data_dir = DataDir::open(config.data_dir.as_deref())?;
    let db = Arc::new(Database::open(&data_dir.database_path())?);
    info!(data_dir = %data_dir.root().display(), "opened data directory");

    let store: Arc<dyn JobStore> = Arc::new(SqliteJobStore::new(db.clone()));
    let webhooks = Arc::new(WebhookStore::new(db.clone()));
    let embedder = crate::embed::from_config(&config)
        .await
        .map_err(anyhow::Error::msg)?;
    info!(
        embedder = embedder.name(),
        dimension = embedder.dimension(),
        "embedder ready"
    );
    let index: Arc<dyn CodeIndex> = Arc::new(PersistentIndex::new(
        db,
        data_dir.graphs_dir(),
        embedder.name(),
        embedder.dimension(),
    ));
    let background_shutdown = CancellationToken::new();
    let (notifier, notifier_task) = Notifier::spawn(
        notifier_config,
        store.clone(),
        webhooks.clone(),
        background_shutdown.clone(),
    );
    let flusher = tokio::spawn(flush_periodically(
        index.clone(),
        background_shutdown.clone(),
    ));
    let preload_index = index.clone();
    tokio::task::spawn_blocking(move || match preload_index.preload() {
        Ok(count) => info!(collections = count, "loaded collections"),
        Err(error) => error!(%error, "loading collections failed; they load on first use"),
    });
    let reembed_status = Arc::new(crate::index::reembed::ReembedStatus::default());
    tokio::spawn(crate::index::reembed::reembed_stale(
        index.clone(),
        embedder.clone(),
        reembed_status.clone(),
        background_shutdown.clone(),
    ));
    let jobs_shutdown = CancellationToken::new();
    let (jobs, dispatcher) = JobManager::start(
        store,
        index.clone(),
        embedder.clone(),
        webhooks,
        notifier,
        config.jobs_config(),
        jobs_shutdown.clone(),
    );

    let server = CodeIndexServer::new(jobs.clone(), index.clone(), embedder, reembed_status);
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
    crate::jobs::manager::drain(&jobs, dispatcher, config.shutdown_grace()).await;
    background_shutdown.cancel();
    if tokio::time::timeout(config.shutdown_grace(), notifier_task)
        .await
        .is_err()
    {
        warn!(
            "webhook attempts still in flight at exit; their messages are sent after the next start"
        );
    }
    let _ = flusher.await;
    save_index(index).await;
    info!("stopped");
    drop(data_dir);
    Ok(())
}

/// Saves changed graphs every [`FLUSH_INTERVAL`] until `shutdown`.
async fn flush_periodically(index: Arc<dyn CodeIndex>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(FLUSH_INTERVAL) => save_index(index.clone()).await,
        }
    }
}

async fn save_index(index: Arc<dyn CodeIndex>) {
    match tokio::task::spawn_blocking(move || index.flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            error!(%error, "saving the index failed; it is rebuilt from the database at the next start")
        }
        Err(panic) => error!(%panic, "saving the index panicked"),
    }
}
