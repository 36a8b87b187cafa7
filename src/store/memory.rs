//! In-memory job store. Jobs are lost when the process exits.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{JobFilter, JobStore};
use crate::jobs::model::{Job, JobId};

/// Jobs in a hash map, with their ids in submission order for listing.
#[derive(Default)]
pub struct MemoryJobStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    jobs: HashMap<JobId, Job>,
    order: Vec<JobId>,
}

impl MemoryJobStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl JobStore for MemoryJobStore {
    fn insert(&self, job: Job) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.order.push(job.id);
        inner.jobs.insert(job.id, job);
    }

    fn get(&self, id: &JobId) -> Option<Job> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.jobs.get(id).cloned()
    }

    fn update(&self, id: &JobId, change: &mut dyn FnMut(&mut Job)) -> Option<Job> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let job = inner.jobs.get_mut(id)?;
        change(job);
        Some(job.clone())
    }

    fn list(&self, filter: &JobFilter) -> Vec<Job> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .order
            .iter()
            .rev()
            .filter_map(|id| inner.jobs.get(id))
            .filter(|job| {
                filter
                    .user_id
                    .as_ref()
                    .is_none_or(|user| &job.user_id == user)
            })
            .filter(|job| filter.status.is_none_or(|status| job.status == status))
            .take(filter.limit)
            .cloned()
            .collect()
    }
}
