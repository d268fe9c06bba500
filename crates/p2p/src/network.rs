//! The libp2p node: TCP + noise + yamux, gossipsub for messages, identify and kademlia for discovery
//! from configured bootstrap peers, connection limits and peer scoring; every message is judged by
//! [`crate::admission`] before it is delivered or forwarded. A task owns the swarm; the node handle talks
//! to it over a channel.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use futures::StreamExt;
use libp2p::connection_limits::{self, ConnectionLimits};
use libp2p::gossipsub::{
    self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId, PeerScoreParams, PeerScoreThresholds,
    TopicScoreParams,
};
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, SwarmBuilder, identify, kad, noise, tcp, yamux};
use tokio::sync::{mpsc, oneshot};

use crate::P2pError;
use crate::admission::{Admission, AdmissionRules, Refusal};
use crate::envelope::{Envelope, unix_now};
use crate::messages::{Message, TaskMessage};

pub use crate::messages::{ATTESTATIONS_TOPIC, REPORTS_TOPIC, TASKS_TOPIC};
/// Received messages waiting for the application; more are dropped (and counted).
pub const INCOMING_CAPACITY: usize = 10_000;
/// Metric counting dropped messages by reason.
pub const DROPPED_METRIC: &str = "triggerx_p2p_messages_dropped_total";

/// Largest message a node sends or accepts. An assignment carries at most
/// [`triggerx_core::abi_args::MAX_CALLDATA_BYTES`] of calldata, written as hex (twice the bytes) inside
/// the envelope's body: this leaves room for that and everything else.
pub const MAX_MESSAGE_BYTES: usize = 512 * 1024;

/// Connection limits of a node.
#[derive(Debug, Clone)]
pub struct P2pLimits {
    /// Incoming connections being set up at once.
    pub max_pending_incoming: u32,
    /// Established incoming connections.
    pub max_established_incoming: u32,
    /// Established connections in all.
    pub max_established: u32,
    /// Established connections with one peer.
    pub max_established_per_peer: u32,
}

impl Default for P2pLimits {
    fn default() -> Self {
        P2pLimits {
            max_pending_incoming: 64,
            max_established_incoming: 256,
            max_established: 512,
            max_established_per_peer: 2,
        }
    }
}

/// Node settings.
#[derive(Debug, Clone)]
pub struct P2pConfig {
    /// Where to listen (`/ip4/127.0.0.1/tcp/0` picks a free port).
    pub listen: Multiaddr,
    /// Peers to join through, each ending in `/p2p/<peer id>`.
    pub bootstrap: Vec<Multiaddr>,
    /// Seed of the node's ed25519 identity (a stable peer id); random when absent.
    pub identity_seed: Option<[u8; 32]>,
    /// Gossipsub heartbeat.
    pub heartbeat: Duration,
    /// What the node lets through (tasks only from these dispatchers, reports only from the
    /// performers they named, peers' rates).
    pub admission: AdmissionRules,
    /// Connection limits.
    pub limits: P2pLimits,
}

impl Default for P2pConfig {
    fn default() -> Self {
        P2pConfig {
            listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap_or_else(|_| Multiaddr::empty()),
            bootstrap: Vec::new(),
            identity_seed: None,
            heartbeat: Duration::from_millis(500),
            admission: AdmissionRules::default(),
            limits: P2pLimits::default(),
        }
    }
}

impl P2pConfig {
    /// These settings, accepting tasks from `dispatchers` only.
    pub fn accepting_tasks_from(self, dispatchers: Vec<Address>) -> P2pConfig {
        P2pConfig { admission: AdmissionRules { dispatchers, ..self.admission }, ..self }
    }
}

/// A verified message.
#[derive(Debug, Clone)]
pub struct Received {
    /// Consensus address that signed it.
    pub from: Address,
    /// The message.
    pub message: Message,
}

/// Counters of what the node received and refused.
#[derive(Debug, Default)]
pub struct P2pStats {
    /// Verified messages delivered.
    pub received: AtomicU64,
    /// Messages dropped because the application did not keep up.
    pub overflow: AtomicU64,
    refused: [AtomicU64; Refusal::ALL.len()],
}

impl P2pStats {
    /// Every refused message (overflow included).
    pub fn dropped(&self) -> u64 {
        self.refused.iter().map(|c| c.load(Ordering::Relaxed)).sum::<u64>() + self.overflow.load(Ordering::Relaxed)
    }

    /// Messages refused for `reason`.
    pub fn refused(&self, reason: Refusal) -> u64 {
        self.refused[reason.index()].load(Ordering::Relaxed)
    }

    fn refuse(&self, reason: Refusal) {
        self.refused[reason.index()].fetch_add(1, Ordering::Relaxed);
        metrics::counter!(DROPPED_METRIC, "reason" => reason.label()).increment(1);
    }
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    limits: connection_limits::Behaviour,
    gossipsub: gossipsub::Behaviour,
    identify: identify::Behaviour,
    kad: kad::Behaviour<kad::store::MemoryStore>,
}

enum Command {
    Publish {
        topic: &'static str,
        data: Vec<u8>,
        /// An assignment this node publishes: its performer's reports are to be passed on.
        assignment: Option<Box<TaskMessage>>,
        reply: oneshot::Sender<Result<(), P2pError>>,
    },
    Peers(oneshot::Sender<usize>),
}

/// Handle of a running node; the node stops when the handle is dropped.
pub struct P2pNode {
    /// This node's peer id.
    pub peer_id: PeerId,
    /// Addresses it listens on, each ending in `/p2p/<peer id>` (give them to others as bootstrap).
    pub listen_addrs: Vec<Multiaddr>,
    /// What it received and refused.
    pub stats: Arc<P2pStats>,
    signer: PrivateKeySigner,
    commands: mpsc::Sender<Command>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for P2pNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn message_id(message: &gossipsub::Message) -> MessageId {
    let mut hasher = DefaultHasher::new();
    message.data.hash(&mut hasher);
    message.topic.hash(&mut hasher);
    MessageId::from(hasher.finish().to_be_bytes().to_vec())
}

/// Peer scoring: a peer that passes on invalid messages loses score fast (the penalty grows with the
/// square of their count) and is ignored below the graylist threshold (-80, after four); the count
/// halves every second. Quiet topics are normal here, so delivery rates are not scored; peers on one
/// machine (loopback) are not penalised for sharing an address.
fn peer_scoring() -> (PeerScoreParams, PeerScoreThresholds) {
    let topic = TopicScoreParams {
        topic_weight: 1.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: -5.0,
        invalid_message_deliveries_decay: 0.5,
        ..TopicScoreParams::default()
    };
    let mut params = PeerScoreParams {
        decay_interval: Duration::from_secs(1),
        ip_colocation_factor_whitelist: [IpAddr::from([127, 0, 0, 1]), IpAddr::from(std::net::Ipv6Addr::LOCALHOST)]
            .into_iter()
            .collect(),
        ..PeerScoreParams::default()
    };
    for name in [TASKS_TOPIC, REPORTS_TOPIC, ATTESTATIONS_TOPIC] {
        params.topics.insert(IdentTopic::new(name).hash(), topic.clone());
    }
    (params, PeerScoreThresholds::default())
}

fn build_swarm(config: &P2pConfig) -> Result<Swarm<Behaviour>, P2pError> {
    let keypair = match config.identity_seed {
        Some(seed) => Keypair::ed25519_from_bytes(seed).map_err(|e| P2pError::Network(format!("identity: {e}")))?,
        None => Keypair::generate_ed25519(),
    };
    let heartbeat = config.heartbeat;
    let limits = &config.limits;
    let connection_limits = ConnectionLimits::default()
        .with_max_pending_incoming(Some(limits.max_pending_incoming))
        .with_max_established_incoming(Some(limits.max_established_incoming))
        .with_max_established(Some(limits.max_established))
        .with_max_established_per_peer(Some(limits.max_established_per_peer));
    let swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| P2pError::Network(format!("transport: {e}")))?
        .with_behaviour(|key| {
            let gossipsub_config = gossipsub::ConfigBuilder::default()
                .heartbeat_interval(heartbeat)
                .validation_mode(gossipsub::ValidationMode::Strict)
                .validate_messages()
                .max_transmit_size(MAX_MESSAGE_BYTES)
                .message_id_fn(message_id)
                .build()?;
            let mut gossipsub = gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), gossipsub_config)?;
            let (params, thresholds) = peer_scoring();
            gossipsub.with_peer_score(params, thresholds)?;
            let identify = identify::Behaviour::new(identify::Config::new("/triggerx/1".into(), key.public()));
            let peer_id = key.public().to_peer_id();
            let mut kad = kad::Behaviour::new(peer_id, kad::store::MemoryStore::new(peer_id));
            kad.set_mode(Some(kad::Mode::Server));
            Ok(Behaviour { limits: connection_limits::Behaviour::new(connection_limits), gossipsub, identify, kad })
        })
        .map_err(|e| P2pError::Network(format!("behaviour: {e}")))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    Ok(swarm)
}

impl P2pNode {
    /// Starts a node that signs its messages with `signer` (the consensus key); returns the handle and
    /// the stream of verified messages.
    pub async fn start(
        config: P2pConfig,
        signer: PrivateKeySigner,
    ) -> Result<(P2pNode, mpsc::Receiver<Received>), P2pError> {
        let mut swarm = build_swarm(&config)?;
        for topic in [TASKS_TOPIC, REPORTS_TOPIC, ATTESTATIONS_TOPIC] {
            swarm
                .behaviour_mut()
                .gossipsub
                .subscribe(&IdentTopic::new(topic))
                .map_err(|e| P2pError::Network(e.to_string()))?;
        }
        swarm
            .listen_on(config.listen.clone())
            .map_err(|e| P2pError::Network(format!("listen on {}: {e}", config.listen)))?;
        let peer_id = *swarm.local_peer_id();
        let listen_addrs = loop {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => break vec![address.with(Protocol::P2p(peer_id))],
                SwarmEvent::ListenerError { error, .. } => return Err(P2pError::Network(format!("listen: {error}"))),
                _ => {}
            }
        };
        for address in &config.bootstrap {
            if let Some(Protocol::P2p(peer)) = address.iter().last() {
                swarm.behaviour_mut().kad.add_address(&peer, address.clone());
            }
            if let Err(e) = swarm.dial(address.clone()) {
                tracing::warn!(%address, error = %e, "could not dial a bootstrap peer");
            }
        }
        if !config.bootstrap.is_empty() {
            let _ = swarm.behaviour_mut().kad.bootstrap();
        }
        let (commands, command_rx) = mpsc::channel(1024);
        let (incoming_tx, incoming) = mpsc::channel(INCOMING_CAPACITY);
        let stats = Arc::new(P2pStats::default());
        let admission = Admission::new(config.admission.clone());
        let task = tokio::spawn(drive(swarm, command_rx, incoming_tx, stats.clone(), admission));
        Ok((P2pNode { peer_id, listen_addrs, stats, signer, commands, task }, incoming))
    }

    /// The consensus address this node signs with.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// Connected peers subscribed to the tasks topic.
    pub async fn peers(&self) -> Result<usize, P2pError> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(Command::Peers(reply)).await.map_err(|_| P2pError::Stopped)?;
        answer.await.map_err(|_| P2pError::Stopped)
    }

    /// Signs and publishes `message`.
    pub async fn publish(&self, message: &Message) -> Result<(), P2pError> {
        let envelope = Envelope::seal(message, &self.signer)?;
        self.send(message.topic(), &envelope, assignment_of(message)).await
    }

    /// Publishes `message`, retrying while no peer listens on its topic yet, for up to `patience`.
    pub async fn publish_when_ready(&self, message: &Message, patience: Duration) -> Result<(), P2pError> {
        let envelope = Envelope::seal(message, &self.signer)?;
        let assignment = assignment_of(message);
        let started = Instant::now();
        loop {
            match self.send(message.topic(), &envelope, assignment.clone()).await {
                Err(P2pError::Network(e)) if e.contains("NoPeersSubscribedToTopic") || e.contains("Insufficient") => {
                    if started.elapsed() > patience {
                        return Err(P2pError::Network(format!("no peer listened within {patience:?}: {e}")));
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => return other,
            }
        }
    }

    /// Publishes an already sealed envelope (also how tests inject forged ones).
    pub async fn publish_envelope(&self, topic: &'static str, envelope: &Envelope) -> Result<(), P2pError> {
        self.send(topic, envelope, None).await
    }

    async fn send(
        &self,
        topic: &'static str,
        envelope: &Envelope,
        assignment: Option<Box<TaskMessage>>,
    ) -> Result<(), P2pError> {
        let data = envelope.to_bytes()?;
        if data.len() > MAX_MESSAGE_BYTES {
            return Err(P2pError::Message(format!("{} bytes, at most {MAX_MESSAGE_BYTES}", data.len())));
        }
        let (reply, answer) = oneshot::channel();
        self.commands.send(Command::Publish { topic, data, assignment, reply }).await.map_err(|_| P2pError::Stopped)?;
        answer.await.map_err(|_| P2pError::Stopped)?
    }
}

fn assignment_of(message: &Message) -> Option<Box<TaskMessage>> {
    match message {
        Message::Task(task) => Some(task.clone()),
        Message::ExecutionReport(_) | Message::Attestation(_) => None,
    }
}

async fn drive(
    mut swarm: Swarm<Behaviour>,
    mut commands: mpsc::Receiver<Command>,
    incoming: mpsc::Sender<Received>,
    stats: Arc<P2pStats>,
    mut admission: Admission,
) {
    loop {
        tokio::select! {
            event = swarm.select_next_some() => match event {
                SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                    propagation_source,
                    message_id,
                    message,
                })) => {
                    let verdict = admission.judge(message.source, &message.data, unix_now());
                    let acceptance = match &verdict {
                        Ok(_) => MessageAcceptance::Accept,
                        Err(reason) if reason.penalises() => MessageAcceptance::Reject,
                        Err(_) => MessageAcceptance::Ignore,
                    };
                    swarm.behaviour_mut().gossipsub.report_message_validation_result(
                        &message_id,
                        &propagation_source,
                        acceptance,
                    );
                    match verdict {
                        Ok(opened) => {
                            stats.received.fetch_add(1, Ordering::Relaxed);
                            let received = Received { from: opened.sender, message: opened.message };
                            if incoming.try_send(received).is_err() {
                                stats.overflow.fetch_add(1, Ordering::Relaxed);
                                metrics::counter!(DROPPED_METRIC, "reason" => "overflow").increment(1);
                            }
                        }
                        Err(reason) => {
                            tracing::debug!(reason = reason.label(), peer = %propagation_source, "refused a P2P message");
                            stats.refuse(reason);
                        }
                    }
                }
                SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. })) => {
                    for address in info.listen_addrs {
                        swarm.behaviour_mut().kad.add_address(&peer_id, address);
                    }
                }
                _ => {}
            },
            command = commands.recv() => match command {
                None => break,
                Some(Command::Publish { topic, data, assignment, reply }) => {
                    if let Some(task) = assignment {
                        admission.remember(&task, unix_now());
                    }
                    let result = swarm
                        .behaviour_mut()
                        .gossipsub
                        .publish(IdentTopic::new(topic), data)
                        .map(|_| ())
                        .map_err(|e| P2pError::Network(format!("{e:?}")));
                    let _ = reply.send(result);
                }
                Some(Command::Peers(reply)) => {
                    let tasks = IdentTopic::new(TASKS_TOPIC).hash();
                    let subscribed = swarm.behaviour().gossipsub.all_peers().filter(|(_, topics)| topics.contains(&&tasks)).count();
                    let _ = reply.send(subscribed);
                }
            },
        }
    }
}
