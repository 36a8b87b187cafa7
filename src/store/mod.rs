//! Job storage behind the [`JobStore`] trait, with an in-memory implementation.

mod memory;

pub use memory::MemoryJobStore;

use crate::jobs::model::{Job, JobId, JobStatus};

/// Which jobs `list` returns.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub user_id: Option<String>,
    pub status: Option<JobStatus>,
    /// Maximum number of jobs, newest first.
    pub limit: usize,
}

/// Persistence of jobs. Every method is short and never blocks on I/O for
/// long, so callers may use it from async code.
pub trait JobStore: Send + Sync {
    fn insert(&self, job: Job);

    fn get(&self, id: &JobId) -> Option<Job>;

    /// Applies `change` to the stored job and returns the updated copy, or
    /// `None` if no such job exists.
    fn update(&self, id: &JobId, change: &mut dyn FnMut(&mut Job)) -> Option<Job>;

    /// Returns matching jobs, newest first.
    fn list(&self, filter: &JobFilter) -> Vec<Job>;
}
