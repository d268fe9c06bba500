//! Real libp2p nodes on loopback: discovery through one bootstrap peer, signed messages delivered with
//! their verified sender; forged, malformed and unauthorised messages refused, counted and not passed
//! on; a flood from one peer does not crowd out another's reports; the largest call fits a message.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use alloy::primitives::{Address, Bytes, U256, keccak256};
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::mpsc::Receiver;
use triggerx_core::abi_args::MAX_CALLDATA_BYTES;
use triggerx_core::assignment::Assignment;
use triggerx_p2p::envelope::unix_now;
use triggerx_p2p::messages::ReportStatus;
use triggerx_p2p::network::{REPORTS_TOPIC, TASKS_TOPIC};
use triggerx_p2p::{
    Envelope, ExecutionReport, MAX_MESSAGE_BYTES, Message, P2pConfig, P2pNode, PROTOCOL_VERSION, Received, Refusal,
    TaskMessage,
};

fn task(task_id: i64, performer: Address, reporter: Address) -> TaskMessage {
    let calldata = Bytes::from(vec![0xd0, 0x9d, 0xe0, 0x8a]);
    let occurrence_key = format!("t:{task_id}");
    TaskMessage {
        task_id,
        occurrence_key: occurrence_key.clone(),
        chain_id: 31338,
        hub: Address::with_last_byte(0x42),
        assignment: Assignment {
            taskId: U256::from(task_id),
            jobId: U256::MAX,
            occurrence: keccak256(occurrence_key.as_bytes()),
            performer,
            target: Address::with_last_byte(9),
            callHash: keccak256(&calldata),
            maxFee: U256::from(10u64.pow(16)),
            keeperFee: U256::from(1000),
            deadline: unix_now() + 60,
            attempt: 1,
        },
        calldata,
        signature: Bytes::new(),
        reporter,
        dispatched_at_micros: 0,
        script: None,
        job: None,
    }
}

fn report(task_id: i64, performer: Address, reason: &str) -> ExecutionReport {
    ExecutionReport {
        task_id,
        attempt: 1,
        performer,
        status: ReportStatus::Refused,
        reason: reason.into(),
        tx_hash: None,
        block_number: Some(5),
        gas_used: Some(50_000),
        broadcast_at_micros: None,
        record: None,
    }
}

async fn next(rx: &mut Receiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("a message within 10 s").unwrap()
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(10), "{what} within 10 s");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// `size` nodes joined through the first, which is the dispatcher (every node accepts its tasks).
async fn network(size: usize) -> Vec<(P2pNode, Receiver<Received>, PrivateKeySigner)> {
    let dispatcher = PrivateKeySigner::random();
    let config = P2pConfig { heartbeat: Duration::from_millis(100), ..Default::default() }
        .accepting_tasks_from(vec![dispatcher.address()]);
    let (first, first_rx) = P2pNode::start(config.clone(), dispatcher.clone()).await.unwrap();
    let bootstrap = first.listen_addrs.clone();
    let mut nodes = vec![(first, first_rx, dispatcher)];
    for _ in 1..size {
        let key = PrivateKeySigner::random();
        let (node, rx) =
            P2pNode::start(P2pConfig { bootstrap: bootstrap.clone(), ..config.clone() }, key.clone()).await.unwrap();
        nodes.push((node, rx, key));
    }
    for (index, (node, _, _)) in nodes.iter().enumerate() {
        // The bootstrap node must know every other node's subscription before anything is published.
        let wanted = if index == 0 { size - 1 } else { 1 };
        for _ in 0..400 {
            if node.peers().await.unwrap() >= wanted {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_messages_reach_every_node_and_forgeries_are_dropped() {
    let mut nodes = network(4).await;
    let dispatcher = nodes[0].2.clone();
    let (performer, reporter) = (Address::with_last_byte(0x77), nodes[2].2.clone());
    let mut assignment = task(7, performer, reporter.address());
    assignment.sign(&dispatcher).unwrap();
    nodes[0].0.publish_when_ready(&Message::Task(Box::new(assignment.clone())), Duration::from_secs(10)).await.unwrap();
    for (_, rx, _) in nodes.iter_mut().skip(1) {
        let received = next(rx).await;
        assert_eq!(received.from, dispatcher.address(), "the sender is verified");
        let Message::Task(got) = received.message else { panic!("expected a task") };
        assert_eq!(*got, assignment);
        assert_eq!(got.dispatcher().unwrap(), dispatcher.address(), "the EIP-712 signature proves the dispatcher");
    }

    // The performer's report reaches the dispatcher.
    let genuine = report(7, performer, "");
    nodes[2].0.publish_when_ready(&Message::ExecutionReport(genuine.clone()), Duration::from_secs(10)).await.unwrap();
    let received = next(&mut nodes[0].1).await;
    assert_eq!(received.from, reporter.address());
    assert_eq!(received.message, Message::ExecutionReport(genuine));

    // Refused by the dispatcher's node (every node is its peer) and passed on to nobody: a sender
    // field that did not sign, a task from a node that is not the dispatcher, a report about the
    // assignment from another key than its performer's, an old envelope. (The envelope's own refusals
    // are unit tests of `envelope`; more invalid messages would graylist the intruder, see below.)
    let intruder = nodes[3].2.clone();
    let as_task = |t: &TaskMessage| Message::Task(Box::new(t.clone()));
    let mut forged = Envelope::seal(&as_task(&assignment), &intruder).unwrap();
    forged.sender = dispatcher.address();
    let mut theirs = task(8, performer, intruder.address());
    theirs.sign(&intruder).unwrap();
    let not_dispatcher = Envelope::seal(&as_task(&theirs), &intruder).unwrap();
    let old = Envelope::seal_raw(
        PROTOCOL_VERSION,
        unix_now() - 600,
        serde_json::to_string(&as_task(&assignment)).unwrap(),
        &dispatcher,
    )
    .unwrap();
    for bad in [forged, not_dispatcher, old] {
        nodes[3].0.publish_envelope(TASKS_TOPIC, &bad).await.unwrap();
    }
    let wrong_reporter = Envelope::seal(&Message::ExecutionReport(report(7, performer, "mine")), &intruder).unwrap();
    nodes[3].0.publish_envelope(REPORTS_TOPIC, &wrong_reporter).await.unwrap();
    let stats = nodes[0].0.stats.clone();
    until("four refusals", || stats.dropped() >= 4).await;
    assert_eq!(stats.refused(Refusal::BadSignature), 1, "forged sender");
    assert_eq!(stats.refused(Refusal::UnknownDispatcher), 1);
    assert_eq!(stats.refused(Refusal::Stale), 1);
    assert_eq!(stats.refused(Refusal::WrongReporter), 1);
    assert_eq!(stats.dropped(), 4, "every refused envelope is counted");
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (index, (_, rx, _)) in nodes.iter_mut().enumerate() {
        while let Ok(left) = rx.try_recv() {
            assert_ne!(left.from, intruder.address(), "node {index} got the intruder's message: {left:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_passing_on_invalid_messages_is_ignored_for_a_while() {
    let mut nodes = network(2).await;
    let dispatcher = nodes[0].2.clone();
    let (performer, reporter) = (Address::with_last_byte(0x77), nodes[1].2.clone());
    let mut assignment = task(1, performer, reporter.address());
    assignment.sign(&dispatcher).unwrap();
    nodes[0].0.publish_when_ready(&Message::Task(Box::new(assignment)), Duration::from_secs(10)).await.unwrap();
    next(&mut nodes[1].1).await;
    let stranger = PrivateKeySigner::random();
    let report_from = |signer: &PrivateKeySigner, reason: &str| {
        Envelope::seal(&Message::ExecutionReport(report(1, performer, reason)), signer).unwrap()
    };
    // Ten forgeries, then at once the performer's own report: the dispatcher no longer listens to it.
    for i in 0..10 {
        nodes[1].0.publish_envelope(REPORTS_TOPIC, &report_from(&stranger, &format!("forged {i}"))).await.unwrap();
    }
    nodes[1].0.publish_envelope(REPORTS_TOPIC, &report_from(&reporter, "while graylisted")).await.unwrap();
    let stats = nodes[0].0.stats.clone();
    until("the forgeries refused", || stats.refused(Refusal::WrongReporter) >= 4).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(nodes[0].1.try_recv().is_err(), "nothing from a peer whose score fell below the graylist threshold");
    assert!(stats.refused(Refusal::WrongReporter) < 10, "its later messages were not even judged");
    // Its score recovers as the penalty decays (it halves every second).
    tokio::time::sleep(Duration::from_secs(4)).await;
    nodes[1].0.publish_envelope(REPORTS_TOPIC, &report_from(&reporter, "later")).await.unwrap();
    let received = next(&mut nodes[0].1).await;
    assert_eq!(received.from, reporter.address());
    let Message::ExecutionReport(later) = received.message else { panic!("expected the report") };
    assert_eq!(later.reason, "later");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_peer_does_not_crowd_out_the_performers_reports() {
    let mut nodes = network(3).await;
    let dispatcher = nodes[0].2.clone();
    let (performer, reporter) = (Address::with_last_byte(0x77), nodes[1].2.address());
    const REAL: i64 = 200;
    const FLOOD: i64 = 6_000;
    for task_id in 1..=REAL {
        let mut assignment = task(task_id, performer, reporter);
        assignment.sign(&dispatcher).unwrap();
        nodes[0].0.publish_when_ready(&Message::Task(Box::new(assignment)), Duration::from_secs(10)).await.unwrap();
    }
    let mut seen = 0;
    while seen < REAL {
        if let Message::Task(_) = next(&mut nodes[1].1).await.message {
            seen += 1;
        }
    }
    // The flooder signs FLOOD reports with its own key: about unknown assignments, and about real ones
    // (a forgery of the performer's word), while the performer reports each of its assignments.
    let flooder = nodes[2].2.clone();
    let junk: Vec<Envelope> = (0..FLOOD)
        .map(|i| {
            let task_id = if i % 10 == 0 { 1 + i % REAL } else { 1_000_000 + i };
            Envelope::seal(&Message::ExecutionReport(report(task_id, performer, "junk")), &flooder).unwrap()
        })
        .collect();
    let flooding = {
        let node = &nodes[2].0;
        async move {
            for envelope in &junk {
                let _ = node.publish_envelope(REPORTS_TOPIC, envelope).await;
            }
        }
    };
    let reporting = {
        let node = &nodes[1].0;
        async move {
            for task_id in 1..=REAL {
                node.publish_when_ready(
                    &Message::ExecutionReport(report(task_id, performer, "")),
                    Duration::from_secs(10),
                )
                .await
                .unwrap();
            }
        }
    };
    tokio::join!(flooding, reporting);
    let mut real = std::collections::HashSet::new();
    while real.len() < REAL as usize {
        let received = next(&mut nodes[0].1).await;
        assert_eq!(received.from, reporter, "only the performer's reports reach the dispatcher: {received:?}");
        if let Message::ExecutionReport(r) = received.message {
            real.insert(r.task_id);
        }
    }
    let stats = &nodes[0].0.stats;
    assert_eq!(stats.overflow.load(std::sync::atomic::Ordering::Relaxed), 0, "nothing legitimate was dropped");
    let refused: u64 = [Refusal::UnknownAssignment, Refusal::WrongReporter, Refusal::RateLimited]
        .iter()
        .map(|r| stats.refused(*r))
        .sum();
    assert!(refused > 0, "the flood was refused");
    println!(
        "flood of {FLOOD}: {} unknown assignment, {} wrong reporter, {} over the rate at the dispatcher",
        stats.refused(Refusal::UnknownAssignment),
        stats.refused(Refusal::WrongReporter),
        stats.refused(Refusal::RateLimited)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_call_a_job_may_make_travels_and_a_larger_message_is_refused() {
    let mut nodes = network(2).await;
    let dispatcher = nodes[0].2.clone();
    let mut largest = task(1, Address::with_last_byte(0x77), nodes[1].2.address());
    largest.calldata = Bytes::from(vec![0xab; MAX_CALLDATA_BYTES]);
    largest.assignment.callHash = keccak256(&largest.calldata);
    largest.sign(&dispatcher).unwrap();
    let message = Message::Task(Box::new(largest.clone()));
    let size = Envelope::seal(&message, &dispatcher).unwrap().to_bytes().unwrap().len();
    assert!(size <= MAX_MESSAGE_BYTES, "{size} bytes for {MAX_CALLDATA_BYTES} bytes of calldata");
    nodes[0].0.publish_when_ready(&message, Duration::from_secs(10)).await.unwrap();
    let Message::Task(got) = next(&mut nodes[1].1).await.message else { panic!("expected the task") };
    assert_eq!(got.calldata.len(), MAX_CALLDATA_BYTES);
    largest.calldata = Bytes::from(vec![0xab; MAX_MESSAGE_BYTES]);
    let error = nodes[0].0.publish(&Message::Task(Box::new(largest))).await.unwrap_err();
    assert!(error.to_string().contains("at most"), "{error}");
}

#[test]
fn a_task_signed_by_someone_else_is_recognisable() {
    let dispatcher = PrivateKeySigner::random();
    let impostor = PrivateKeySigner::random();
    let mut assignment = task(1, Address::with_last_byte(1), Address::with_last_byte(2));
    assignment.sign(&impostor).unwrap();
    assert_ne!(assignment.dispatcher().unwrap(), dispatcher.address());
    assignment.sign(&dispatcher).unwrap();
    assert_eq!(assignment.dispatcher().unwrap(), dispatcher.address());
    let mut other_call = assignment.clone();
    other_call.calldata = Bytes::from(vec![1, 2, 3, 4]);
    assert!(other_call.dispatcher().is_err(), "calldata other than the signed hash is refused");
    let mut other_target = assignment.clone();
    other_target.assignment.target = Address::with_last_byte(10);
    assert_ne!(other_target.dispatcher().unwrap(), dispatcher.address(), "the signature covers the target");
    let mut other_hub = assignment.clone();
    other_hub.hub = Address::with_last_byte(0x43);
    assert_ne!(other_hub.dispatcher().unwrap(), dispatcher.address(), "the signature is bound to one hub");
}
