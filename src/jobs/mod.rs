//! Jobs: the model, the processing pipeline and the manager that queues and
//! runs them.

pub mod manager;
pub mod model;
pub mod pipeline;
pub mod progress_events;
pub mod redact;

pub use manager::{CancelOutcome, JobManager, JobsConfig, SubmitError};
pub use model::{Job, JobId, JobStatus, JobType};
