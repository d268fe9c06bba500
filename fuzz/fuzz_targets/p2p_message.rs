//! Fuzzes what a peer sends: any bytes as an envelope (version, signature, body), and a task's
//! consistency and signature checks when the body is one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use triggerx_p2p::{Envelope, Message};

fuzz_target!(|data: &[u8]| {
    let _ = Envelope::open(data);
    if let Ok(Message::Task(task)) = serde_json::from_slice::<Message>(data) {
        let _ = task.dispatcher();
    }
});
