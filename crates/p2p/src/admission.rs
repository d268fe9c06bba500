//! What a node lets through. Gossipsub runs with `validate_messages`, so every message is judged here
//! before it is delivered to the application or forwarded to anyone: first the originating peer's
//! rate (cheap), then the envelope's version and signature, its age, and whether its sender may say
//! it: tasks only from a configured dispatcher (whose assignment signature must be the envelope's),
//! reports only from the consensus key the dispatcher named for that very assignment, attestations
//! only about assignments the node knows (their BLS signatures are the aggregator's to check). Invalid
//! messages penalise the peer that sent them (gossipsub peer scoring); messages that are merely late,
//! unknown here or over the rate are dropped without a penalty.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use alloy::primitives::Address;
use libp2p::PeerId;

use crate::envelope::{Envelope, Opened, Rejection};
use crate::messages::{MAX_REASON_LEN, Message, TaskMessage};

/// How long after its deadline an assignment's reports are still passed on (late confirmations).
const REPORT_GRACE_SECS: u64 = 300;
/// Assignments remembered at most; past it the expired ones are forgotten first, then the oldest.
const MAX_REMEMBERED_ASSIGNMENTS: usize = 200_000;
/// Peers whose rate is tracked at most; past it idle buckets (full again) are forgotten.
const MAX_TRACKED_PEERS: usize = 10_000;

/// What a node accepts.
#[derive(Debug, Clone)]
pub struct AdmissionRules {
    /// Consensus addresses whose task assignments are accepted (none: no task is accepted).
    pub dispatchers: Vec<Address>,
    /// Oldest envelope accepted.
    pub max_age: Duration,
    /// How far in the future an envelope may be dated (clock skew).
    pub max_skew: Duration,
    /// Messages per second one originating peer may publish (bursts of twice that); a dispatcher's
    /// peer is exempt once it has sent a valid assignment.
    pub peer_rate: u32,
}

impl Default for AdmissionRules {
    fn default() -> Self {
        AdmissionRules {
            dispatchers: Vec::new(),
            max_age: Duration::from_secs(120),
            max_skew: Duration::from_secs(30),
            peer_rate: 1_000,
        }
    }
}

/// Why a message was not let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// Not a JSON envelope.
    Malformed,
    /// Another protocol version.
    UnknownVersion,
    /// The signature is not the sender's.
    BadSignature,
    /// The body is not a known message type.
    UnknownMessage,
    /// Sealed too long ago, or too far in the future.
    Stale,
    /// A task from a sender that is not a dispatcher.
    UnknownDispatcher,
    /// A task whose assignment was not signed by its sender, or whose call or occurrence do not match
    /// what was signed.
    ForgedAssignment,
    /// A report about an assignment this node has not seen.
    UnknownAssignment,
    /// A report about an assignment, signed by another key than its performer's.
    WrongReporter,
    /// A field over its limit (a report's reason).
    Oversized,
    /// The originating peer publishes faster than its rate.
    RateLimited,
}

impl Refusal {
    /// Every reason, for counters.
    pub const ALL: [Refusal; 11] = [
        Refusal::Malformed,
        Refusal::UnknownVersion,
        Refusal::BadSignature,
        Refusal::UnknownMessage,
        Refusal::Stale,
        Refusal::UnknownDispatcher,
        Refusal::ForgedAssignment,
        Refusal::UnknownAssignment,
        Refusal::WrongReporter,
        Refusal::Oversized,
        Refusal::RateLimited,
    ];

    /// Label used in metrics.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::UnknownVersion => "unknown_version",
            Refusal::BadSignature => "bad_signature",
            Refusal::UnknownMessage => "unknown_message",
            Refusal::Stale => "stale",
            Refusal::UnknownDispatcher => "unknown_dispatcher",
            Refusal::ForgedAssignment => "forged_assignment",
            Refusal::UnknownAssignment => "unknown_assignment",
            Refusal::WrongReporter => "wrong_reporter",
            Refusal::Oversized => "oversized",
            Refusal::RateLimited => "rate_limited",
        }
    }

    /// Whether the peer that passed it on is penalised (the message is invalid whoever relays it), or
    /// the message is only not passed on (it may be honest: late, ahead of its task, or one too many).
    pub fn penalises(self) -> bool {
        !matches!(self, Refusal::Stale | Refusal::UnknownAssignment | Refusal::RateLimited)
    }

    pub(crate) fn index(self) -> usize {
        Refusal::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

impl From<Rejection> for Refusal {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::Malformed => Refusal::Malformed,
            Rejection::UnknownVersion => Refusal::UnknownVersion,
            Rejection::BadSignature => Refusal::BadSignature,
            Rejection::UnknownMessage => Refusal::UnknownMessage,
        }
    }
}

struct Assigned {
    /// The performer's consensus key: the only sender of reports about it.
    reporter: Address,
    /// The performer (controller address) reports must name.
    performer: Address,
    /// Until when reports are passed on, Unix seconds.
    until: u64,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The judge of one node: its rules, the assignments it has seen, and each peer's rate.
pub struct Admission {
    rules: AdmissionRules,
    assignments: HashMap<(i64, u32), Assigned>,
    buckets: HashMap<PeerId, Bucket>,
    trusted_peers: HashSet<PeerId>,
}

impl Admission {
    /// A judge with `rules` that has seen nothing yet.
    pub fn new(rules: AdmissionRules) -> Admission {
        Admission { rules, assignments: HashMap::new(), buckets: HashMap::new(), trusted_peers: HashSet::new() }
    }

    /// Judges a message published by `source` (gossipsub's signed originator), at `now` (Unix seconds).
    pub fn judge(&mut self, source: Option<PeerId>, data: &[u8], now: u64) -> Result<Opened, Refusal> {
        if let Some(peer) = source
            && !self.trusted_peers.contains(&peer)
            && !self.take_token(peer, Instant::now())
        {
            return Err(Refusal::RateLimited);
        }
        let opened = Envelope::open(data)?;
        let (age_limit, skew_limit) = (self.rules.max_age.as_secs(), self.rules.max_skew.as_secs());
        if opened.sent_at + age_limit < now || opened.sent_at > now + skew_limit {
            return Err(Refusal::Stale);
        }
        match &opened.message {
            Message::Task(task) => {
                if !self.rules.dispatchers.contains(&opened.sender) {
                    return Err(Refusal::UnknownDispatcher);
                }
                if task.dispatcher().ok() != Some(opened.sender) {
                    return Err(Refusal::ForgedAssignment);
                }
                if let Some(peer) = source {
                    self.trusted_peers.insert(peer);
                }
                self.remember(task, now);
            }
            Message::ExecutionReport(report) => {
                if report.reason.len() > MAX_REASON_LEN {
                    return Err(Refusal::Oversized);
                }
                let known = self.assignments.get(&(report.task_id, report.attempt)).filter(|a| a.until >= now);
                let Some(assigned) = known else {
                    return Err(Refusal::UnknownAssignment);
                };
                if assigned.reporter != opened.sender || assigned.performer != report.performer {
                    return Err(Refusal::WrongReporter);
                }
            }
            Message::Attestation(attestation) => {
                // Whose verdict it is, the aggregator checks with the operator's BLS key.
                if attestation.reason.len() > MAX_REASON_LEN {
                    return Err(Refusal::Oversized);
                }
                let known =
                    self.assignments.get(&(attestation.task_id, attestation.attempt)).filter(|a| a.until >= now);
                if known.is_none() {
                    return Err(Refusal::UnknownAssignment);
                }
            }
        }
        Ok(opened)
    }

    /// Remembers an assignment (one this node published, or accepted), so that its performer's
    /// reports are passed on until shortly after its deadline.
    pub fn remember(&mut self, task: &TaskMessage, now: u64) {
        if self.assignments.len() >= MAX_REMEMBERED_ASSIGNMENTS {
            self.assignments.retain(|_, a| a.until >= now);
            if self.assignments.len() >= MAX_REMEMBERED_ASSIGNMENTS {
                let oldest = self.assignments.values().map(|a| a.until).min().unwrap_or(now);
                self.assignments.retain(|_, a| a.until > oldest);
            }
        }
        let until = task.assignment.deadline.saturating_add(REPORT_GRACE_SECS);
        if until < now {
            return;
        }
        self.assignments.insert(
            (task.task_id, task.attempt()),
            Assigned { reporter: task.reporter, performer: task.performer(), until },
        );
    }

    fn take_token(&mut self, peer: PeerId, now: Instant) -> bool {
        let rate = f64::from(self.rules.peer_rate.max(1));
        let burst = 2.0 * rate;
        if self.buckets.len() >= MAX_TRACKED_PEERS && !self.buckets.contains_key(&peer) {
            self.buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let bucket = self.buckets.entry(peer).or_insert(Bucket { tokens: burst, at: now });
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use alloy::primitives::{Bytes, U256, keccak256};
    use alloy::signers::local::PrivateKeySigner;
    use triggerx_core::assignment::Assignment;

    use super::*;
    use crate::envelope::{PROTOCOL_VERSION, unix_now};
    use crate::messages::{ExecutionReport, ReportStatus};

    struct Cast {
        dispatcher: PrivateKeySigner,
        reporter: PrivateKeySigner,
        performer: Address,
    }

    fn cast() -> Cast {
        Cast {
            dispatcher: PrivateKeySigner::random(),
            reporter: PrivateKeySigner::random(),
            performer: Address::with_last_byte(7),
        }
    }

    fn task(cast: &Cast, task_id: i64) -> TaskMessage {
        let calldata = Bytes::from(vec![1, 2, 3, 4]);
        let occurrence_key = format!("t:{task_id}");
        let mut task = TaskMessage {
            task_id,
            occurrence_key: occurrence_key.clone(),
            chain_id: 31338,
            hub: Address::with_last_byte(0x42),
            assignment: Assignment {
                taskId: U256::from(task_id),
                jobId: U256::from(1),
                occurrence: keccak256(occurrence_key.as_bytes()),
                performer: cast.performer,
                target: Address::with_last_byte(9),
                callHash: keccak256(&calldata),
                maxFee: U256::from(1),
                keeperFee: U256::from(1),
                deadline: unix_now() + 30,
                attempt: 1,
            },
            calldata,
            signature: Bytes::new(),
            reporter: cast.reporter.address(),
            dispatched_at_micros: 0,
            script: None,
            job: None,
        };
        task.sign(&cast.dispatcher).unwrap();
        task
    }

    fn report(cast: &Cast, task_id: i64, reason: &str) -> Message {
        Message::ExecutionReport(ExecutionReport {
            task_id,
            attempt: 1,
            performer: cast.performer,
            status: ReportStatus::Refused,
            reason: reason.into(),
            tx_hash: None,
            block_number: None,
            gas_used: None,
            broadcast_at_micros: None,
            record: None,
        })
    }

    fn bytes(message: &Message, signer: &PrivateKeySigner) -> Vec<u8> {
        Envelope::seal(message, signer).unwrap().to_bytes().unwrap()
    }

    fn judge(cast: &Cast) -> Admission {
        Admission::new(AdmissionRules { dispatchers: vec![cast.dispatcher.address()], ..Default::default() })
    }

    #[test]
    fn tasks_pass_only_from_a_dispatcher_that_signed_the_assignment() {
        let cast = cast();
        let mut admission = judge(&cast);
        let now = unix_now();
        let genuine = Message::Task(Box::new(task(&cast, 1)));
        assert!(admission.judge(None, &bytes(&genuine, &cast.dispatcher), now).is_ok());
        let stranger = PrivateKeySigner::random();
        let mut theirs = task(&cast, 2);
        theirs.sign(&stranger).unwrap();
        let theirs = Message::Task(Box::new(theirs));
        assert_eq!(admission.judge(None, &bytes(&theirs, &stranger), now).unwrap_err(), Refusal::UnknownDispatcher);
        // The dispatcher's envelope around an assignment somebody else signed (or a changed call).
        assert_eq!(
            admission.judge(None, &bytes(&theirs, &cast.dispatcher), now).unwrap_err(),
            Refusal::ForgedAssignment
        );
        let mut other_call = task(&cast, 3);
        other_call.calldata = Bytes::from(vec![9]);
        let other_call = Message::Task(Box::new(other_call));
        assert_eq!(
            admission.judge(None, &bytes(&other_call, &cast.dispatcher), now).unwrap_err(),
            Refusal::ForgedAssignment
        );
        let nobody = Admission::new(AdmissionRules::default()).judge(None, &bytes(&genuine, &cast.dispatcher), now);
        assert_eq!(nobody.unwrap_err(), Refusal::UnknownDispatcher, "no dispatcher configured: no task passes");
    }

    #[test]
    fn reports_pass_only_from_the_performer_the_dispatcher_named() {
        let cast = cast();
        let mut admission = judge(&cast);
        let now = unix_now();
        let ahead = admission.judge(None, &bytes(&report(&cast, 1, ""), &cast.reporter), now);
        assert_eq!(ahead.unwrap_err(), Refusal::UnknownAssignment, "before its task is seen");
        assert!(!Refusal::UnknownAssignment.penalises());
        admission.remember(&task(&cast, 1), now);
        assert!(admission.judge(None, &bytes(&report(&cast, 1, "x"), &cast.reporter), now).is_ok());
        let impostor = PrivateKeySigner::random();
        let theirs = admission.judge(None, &bytes(&report(&cast, 1, "y"), &impostor), now);
        assert_eq!(theirs.unwrap_err(), Refusal::WrongReporter);
        assert!(Refusal::WrongReporter.penalises());
        let long = "r".repeat(MAX_REASON_LEN + 1);
        assert_eq!(
            admission.judge(None, &bytes(&report(&cast, 1, &long), &cast.reporter), now).unwrap_err(),
            Refusal::Oversized
        );
        // Past the deadline and its grace, the assignment is forgotten.
        let later = now + 30 + REPORT_GRACE_SECS + 1;
        let late = Envelope::seal_raw(
            PROTOCOL_VERSION,
            later,
            serde_json::to_string(&report(&cast, 1, "")).unwrap(),
            &cast.reporter,
        )
        .unwrap();
        admission.remember(&task(&cast, 2), later);
        assert_eq!(admission.judge(None, &late.to_bytes().unwrap(), later).unwrap_err(), Refusal::UnknownAssignment);
    }

    #[test]
    fn old_and_future_envelopes_are_stale() {
        let cast = cast();
        let mut admission = judge(&cast);
        admission.remember(&task(&cast, 1), unix_now());
        let body = serde_json::to_string(&report(&cast, 1, "")).unwrap();
        let now = unix_now();
        for sent_at in [now - 121, now + 31] {
            let envelope = Envelope::seal_raw(PROTOCOL_VERSION, sent_at, body.clone(), &cast.reporter).unwrap();
            assert_eq!(admission.judge(None, &envelope.to_bytes().unwrap(), now).unwrap_err(), Refusal::Stale);
        }
        let fresh = Envelope::seal_raw(PROTOCOL_VERSION, now - 100, body, &cast.reporter).unwrap();
        assert!(admission.judge(None, &fresh.to_bytes().unwrap(), now).is_ok());
    }

    #[test]
    fn a_flooding_peer_is_held_to_its_rate_and_others_are_not() {
        let cast = cast();
        let mut admission = Admission::new(AdmissionRules {
            dispatchers: vec![cast.dispatcher.address()],
            peer_rate: 100,
            ..Default::default()
        });
        let now = unix_now();
        admission.remember(&task(&cast, 1), now);
        let junk = bytes(&report(&cast, 99, ""), &PrivateKeySigner::random());
        let flooder = PeerId::random();
        let started = Instant::now();
        let limited =
            (0..1_000).filter(|_| admission.judge(Some(flooder), &junk, now) == Err(Refusal::RateLimited)).count();
        // A burst of 200 passes, then 100 a second (each passing one costs a signature check).
        let refilled = (started.elapsed().as_secs_f64() * 100.0).ceil() as usize;
        assert!(limited <= 800 && limited + refilled >= 800, "{limited} over the rate, {refilled} refilled");
        let honest = admission.judge(Some(PeerId::random()), &bytes(&report(&cast, 1, ""), &cast.reporter), now);
        assert!(honest.is_ok(), "another peer is not held back by the flood");
        // A dispatcher's peer is exempt once it proved itself.
        let dispatcher_peer = PeerId::random();
        let tasks: Vec<Vec<u8>> =
            (0..300).map(|i| bytes(&Message::Task(Box::new(task(&cast, 10 + i))), &cast.dispatcher)).collect();
        assert!(tasks.iter().all(|t| admission.judge(Some(dispatcher_peer), t, now).is_ok()));
    }
}
