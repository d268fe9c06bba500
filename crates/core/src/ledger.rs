//! The port through which a task-request queue learns that what it carried arrived: a request has
//! arrived once its occurrence has a task row. The store implements it; the Redis queue uses it to
//! say a request is safe only then (and to send it again when it got lost on the way).

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;

use crate::task::TaskRequest;

/// Error of a ledger backend, boxed so adapters need not know the implementation.
pub type LedgerError = Box<dyn std::error::Error + Send + Sync>;

/// A boxed future of a ledger answer.
pub type LedgerFuture<'a> = Pin<Box<dyn Future<Output = Result<HashSet<TaskRequest>, LedgerError>> + Send + 'a>>;

/// Which occurrences have a task row.
pub trait OccurrenceLedger: Send + Sync {
    /// The members of `requests` whose occurrence has a task row.
    fn recorded<'a>(&'a self, requests: &'a [TaskRequest]) -> LedgerFuture<'a>;
}
