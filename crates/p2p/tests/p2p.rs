//! Real libp2p nodes on loopback: discovery through one bootstrap peer, signed messages delivered with
//! their verified sender, forged and malformed envelopes dropped and counted, task signatures checked.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::Ordering;
use std::time::Duration;

use alloy::primitives::{Address, Bytes, U256, keccak256};
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::mpsc::Receiver;
use triggerx_core::assignment::Assignment;
use triggerx_p2p::messages::ReportStatus;
use triggerx_p2p::network::{REPORTS_TOPIC, TASKS_TOPIC};
use triggerx_p2p::{Envelope, ExecutionReport, Message, P2pConfig, P2pNode, Received, TaskMessage};

fn task(performer: Address) -> TaskMessage {
    let calldata = Bytes::from(vec![0xd0, 0x9d, 0xe0, 0x8a]);
    let occurrence_key = "t:1700000000000".to_string();
    TaskMessage {
        task_id: 7,
        occurrence_key: occurrence_key.clone(),
        chain_id: 31338,
        hub: Address::with_last_byte(0x42),
        assignment: Assignment {
            taskId: U256::from(7),
            jobId: U256::MAX,
            occurrence: keccak256(occurrence_key.as_bytes()),
            performer,
            target: Address::with_last_byte(9),
            callHash: keccak256(&calldata),
            maxFee: U256::from(10u64.pow(16)),
            keeperFee: U256::from(1000),
            deadline: 1_700_000_010,
            attempt: 1,
        },
        calldata,
        signature: Bytes::new(),
        dispatched_at_micros: 0,
    }
}

async fn next(rx: &mut Receiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("a message within 10 s").unwrap()
}

async fn network(size: usize) -> Vec<(P2pNode, Receiver<Received>, PrivateKeySigner)> {
    let heartbeat = Duration::from_millis(100);
    let first_key = PrivateKeySigner::random();
    let (first, first_rx) =
        P2pNode::start(P2pConfig { heartbeat, ..Default::default() }, first_key.clone()).await.unwrap();
    let bootstrap = first.listen_addrs.clone();
    let mut nodes = vec![(first, first_rx, first_key)];
    for _ in 1..size {
        let key = PrivateKeySigner::random();
        let config = P2pConfig { heartbeat, bootstrap: bootstrap.clone(), ..Default::default() };
        let (node, rx) = P2pNode::start(config, key.clone()).await.unwrap();
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
    let performer = nodes[2].2.address();
    let mut assignment = task(performer);
    assignment.sign(&dispatcher).unwrap();
    nodes[0].0.publish_when_ready(&Message::Task(Box::new(assignment.clone())), Duration::from_secs(10)).await.unwrap();
    for (_, rx, _) in nodes.iter_mut().skip(1) {
        let received = next(rx).await;
        assert_eq!(received.from, dispatcher.address(), "the sender is verified");
        let Message::Task(got) = received.message else { panic!("expected a task") };
        assert_eq!(*got, assignment);
        assert_eq!(got.dispatcher().unwrap(), dispatcher.address(), "the EIP-712 signature proves the dispatcher");
    }

    // A report from a keeper reaches the dispatcher.
    let report = ExecutionReport {
        task_id: 7,
        attempt: 1,
        performer,
        status: ReportStatus::Executed,
        reason: String::new(),
        tx_hash: None,
        block_number: Some(5),
        gas_used: Some(50_000),
        broadcast_at_micros: None,
    };
    nodes[2].0.publish_when_ready(&Message::ExecutionReport(report.clone()), Duration::from_secs(10)).await.unwrap();
    let received = next(&mut nodes[0].1).await;
    assert_eq!(received.from, nodes[2].2.address());
    assert_eq!(received.message, Message::ExecutionReport(report));

    // Forgeries: a sender field that did not sign, a tampered body, garbage, an unknown type, another version.
    let mut forged = Envelope::seal(&Message::Task(Box::new(assignment.clone())), &nodes[3].2).unwrap();
    forged.sender = dispatcher.address();
    let mut tampered = Envelope::seal(&Message::Task(Box::new(assignment.clone())), &nodes[3].2).unwrap();
    tampered.body = tampered.body.replace("t:1700000000000", "t:1700000000001");
    let unknown = Envelope::seal_raw(1, r#"{"type":"attestation","x":1}"#.into(), &nodes[3].2).unwrap();
    let other_version = Envelope::seal_raw(
        99,
        serde_json::to_string(&Message::Task(Box::new(assignment.clone()))).unwrap(),
        &nodes[3].2,
    )
    .unwrap();
    for bad in [forged, tampered, unknown, other_version] {
        nodes[3].0.publish_envelope(TASKS_TOPIC, &bad).await.unwrap();
    }
    let garbage = Envelope { version: 1, sender: Address::ZERO, body: "{".into(), signature: "0x00".into() };
    nodes[3].0.publish_envelope(REPORTS_TOPIC, &garbage).await.unwrap();
    let stats = &nodes[1].0.stats;
    for _ in 0..200 {
        if stats.dropped() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(stats.bad_signature.load(Ordering::Relaxed), 3, "forged sender, tampered body, garbage signature");
    assert_eq!(stats.unknown_version.load(Ordering::Relaxed), 1);
    assert_eq!(stats.unknown_message.load(Ordering::Relaxed), 1, "a well-signed message of an unknown type");
    assert_eq!(stats.dropped(), 5, "every invalid envelope is counted");
    let reporter = nodes[2].2.address();
    while let Ok(left) = nodes[1].1.try_recv() {
        assert_eq!(left.from, reporter, "only the genuine report reached the application, no forgery: {left:?}");
        assert!(matches!(left.message, Message::ExecutionReport(_)));
    }
}

#[test]
fn a_task_signed_by_someone_else_is_recognisable() {
    let dispatcher = PrivateKeySigner::random();
    let impostor = PrivateKeySigner::random();
    let mut assignment = task(Address::with_last_byte(1));
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
