//! The libp2p node: TCP + noise + yamux, gossipsub for messages, identify and kademlia for discovery
//! from configured bootstrap peers. A task owns the swarm; the node handle talks to it over a channel.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity, MessageId};
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, SwarmBuilder, identify, kad, noise, tcp, yamux};
use tokio::sync::{mpsc, oneshot};

use crate::P2pError;
use crate::envelope::{Envelope, Rejection};
use crate::messages::Message;

pub use crate::messages::{REPORTS_TOPIC, TASKS_TOPIC};
/// Received messages waiting for the application; more are dropped (and counted).
pub const INCOMING_CAPACITY: usize = 10_000;
/// Metric counting dropped messages by reason.
pub const DROPPED_METRIC: &str = "triggerx_p2p_messages_dropped_total";

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
}

impl Default for P2pConfig {
    fn default() -> Self {
        P2pConfig {
            listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap_or_else(|_| Multiaddr::empty()),
            bootstrap: Vec::new(),
            identity_seed: None,
            heartbeat: Duration::from_millis(500),
        }
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
    /// Envelopes that were not JSON.
    pub malformed: AtomicU64,
    /// Envelopes of another version.
    pub unknown_version: AtomicU64,
    /// Envelopes whose signature was not the sender's.
    pub bad_signature: AtomicU64,
    /// Bodies of an unknown message type.
    pub unknown_message: AtomicU64,
    /// Messages dropped because the application did not keep up.
    pub overflow: AtomicU64,
}

impl P2pStats {
    /// Every refused message.
    pub fn dropped(&self) -> u64 {
        [&self.malformed, &self.unknown_version, &self.bad_signature, &self.unknown_message, &self.overflow]
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    fn reject(&self, reason: Rejection) {
        let counter = match reason {
            Rejection::Malformed => &self.malformed,
            Rejection::UnknownVersion => &self.unknown_version,
            Rejection::BadSignature => &self.bad_signature,
            Rejection::UnknownMessage => &self.unknown_message,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(DROPPED_METRIC, "reason" => reason.label()).increment(1);
    }
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    gossipsub: gossipsub::Behaviour,
    identify: identify::Behaviour,
    kad: kad::Behaviour<kad::store::MemoryStore>,
}

enum Command {
    Publish { topic: &'static str, data: Vec<u8>, reply: oneshot::Sender<Result<(), P2pError>> },
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

fn build_swarm(config: &P2pConfig) -> Result<Swarm<Behaviour>, P2pError> {
    let keypair = match config.identity_seed {
        Some(seed) => Keypair::ed25519_from_bytes(seed).map_err(|e| P2pError::Network(format!("identity: {e}")))?,
        None => Keypair::generate_ed25519(),
    };
    let heartbeat = config.heartbeat;
    let swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| P2pError::Network(format!("transport: {e}")))?
        .with_behaviour(|key| {
            let gossipsub_config = gossipsub::ConfigBuilder::default()
                .heartbeat_interval(heartbeat)
                .validation_mode(gossipsub::ValidationMode::Strict)
                .message_id_fn(message_id)
                .build()?;
            let gossipsub = gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), gossipsub_config)?;
            let identify = identify::Behaviour::new(identify::Config::new("/triggerx/1".into(), key.public()));
            let peer_id = key.public().to_peer_id();
            let mut kad = kad::Behaviour::new(peer_id, kad::store::MemoryStore::new(peer_id));
            kad.set_mode(Some(kad::Mode::Server));
            Ok(Behaviour { gossipsub, identify, kad })
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
        for topic in [TASKS_TOPIC, REPORTS_TOPIC] {
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
        let task = tokio::spawn(drive(swarm, command_rx, incoming_tx, stats.clone()));
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
        self.publish_envelope(message.topic(), &envelope).await
    }

    /// Publishes `message`, retrying while no peer listens on its topic yet, for up to `patience`.
    pub async fn publish_when_ready(&self, message: &Message, patience: Duration) -> Result<(), P2pError> {
        let envelope = Envelope::seal(message, &self.signer)?;
        let started = Instant::now();
        loop {
            match self.publish_envelope(message.topic(), &envelope).await {
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
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Publish { topic, data: envelope.to_bytes()?, reply })
            .await
            .map_err(|_| P2pError::Stopped)?;
        answer.await.map_err(|_| P2pError::Stopped)?
    }
}

async fn drive(
    mut swarm: Swarm<Behaviour>,
    mut commands: mpsc::Receiver<Command>,
    incoming: mpsc::Sender<Received>,
    stats: Arc<P2pStats>,
) {
    loop {
        tokio::select! {
            event = swarm.select_next_some() => match event {
                SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message { message, .. })) => {
                    match Envelope::open(&message.data) {
                        Ok((from, message)) => {
                            stats.received.fetch_add(1, Ordering::Relaxed);
                            if incoming.try_send(Received { from, message }).is_err() {
                                stats.overflow.fetch_add(1, Ordering::Relaxed);
                                metrics::counter!(DROPPED_METRIC, "reason" => "overflow").increment(1);
                            }
                        }
                        Err(reason) => {
                            tracing::debug!(reason = reason.label(), "dropped a P2P message");
                            stats.reject(reason);
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
                Some(Command::Publish { topic, data, reply }) => {
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
