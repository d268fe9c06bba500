//! Where assignments go: the seam between the dispatcher and the network (libp2p in production, a
//! channel in unit tests). Publishing never blocks the dispatcher: it runs in the background, retrying
//! while no keeper listens, for at most the given patience.

use std::sync::Arc;
use std::time::Duration;

use triggerx_p2p::{Message, P2pNode, TaskMessage};

/// Sends signed assignments to keepers.
pub trait AssignmentPublisher: Send + Sync {
    /// Starts publishing `message`; gives up after `patience`.
    fn publish(&self, message: TaskMessage, patience: Duration);
}

impl AssignmentPublisher for Arc<P2pNode> {
    fn publish(&self, message: TaskMessage, patience: Duration) {
        let node = self.clone();
        tokio::spawn(async move {
            let task_id = message.task_id;
            if let Err(e) = node.publish_when_ready(&Message::Task(Box::new(message)), patience).await {
                tracing::warn!(task_id, error = %e, "could not publish an assignment; it expires and is re-assigned");
            }
        });
    }
}

/// Publishes into a channel (unit tests read what was assigned).
impl AssignmentPublisher for tokio::sync::mpsc::UnboundedSender<TaskMessage> {
    fn publish(&self, message: TaskMessage, _patience: Duration) {
        let _ = self.send(message);
    }
}
