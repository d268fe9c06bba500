//! Transaction sender, one per (chain, signer). Nonces come from a pending-aware manager that hands them
//! out under a lock, so concurrent sends never leave a gap; a nonce error resynchronises from the chain;
//! a transaction the node dropped is broadcast again; a transaction stuck past `stuck_after` is replaced
//! with fees bumped by at least 12.5 %. Receipts are returned once they have the configured confirmations.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::eips::eip2718::Encodable2718;
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use tokio::sync::Mutex;

use crate::ChainError;

/// Fee bump of a replacement, in per-mille (125 = 12.5 %, the minimum nodes accept).
pub const MIN_FEE_BUMP_PER_MILLE: u128 = 125;
/// Gas limit = estimate x this / 100.
pub const GAS_LIMIT_MARGIN_PERCENT: u64 = 120;
/// How many times a send retries after a nonce conflict.
const NONCE_RETRIES: usize = 3;

fn is_nonce_conflict(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("nonce") || lower.contains("replacement transaction underpriced")
}

/// Sender tunables.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// Blocks on top of the receipt's block before it is returned (1 = mined).
    pub confirmations: u64,
    /// A transaction unmined for this long is replaced with higher fees.
    pub stuck_after: Duration,
    /// Replacement fee bump in per-mille (at least 125).
    pub fee_bump_per_mille: u128,
    /// How often receipts are polled.
    pub poll_interval: Duration,
    /// Give up waiting for a receipt after this long.
    pub receipt_timeout: Duration,
    /// Fee estimates are reused for this long.
    pub fee_cache: Duration,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            confirmations: 1,
            stuck_after: Duration::from_secs(30),
            fee_bump_per_mille: MIN_FEE_BUMP_PER_MILLE,
            poll_interval: Duration::from_millis(100),
            receipt_timeout: Duration::from_secs(300),
            fee_cache: Duration::from_secs(1),
        }
    }
}

/// A transaction handed to the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentTx {
    /// Hash of the latest broadcast version.
    pub hash: B256,
    /// Its nonce.
    pub nonce: u64,
}

#[derive(Debug, Clone)]
struct InFlight {
    /// The signed request (nonce, gas, fees filled).
    request: TransactionRequest,
    /// Raw bytes of the latest version.
    raw: Bytes,
    /// Every hash broadcast for this nonce (replacements included), newest last.
    hashes: Vec<B256>,
    /// When the latest version was broadcast.
    sent_at: Instant,
}

#[derive(Debug, Default)]
struct NonceState {
    next: Option<u64>,
    in_flight: BTreeMap<u64, InFlight>,
    fees: Option<(u128, u128, Instant)>,
}

/// Sends transactions for one signer on one chain.
#[derive(Clone)]
pub struct TxSender {
    provider: DynProvider,
    wallet: EthereumWallet,
    address: Address,
    chain_id: u64,
    config: SenderConfig,
    state: Arc<Mutex<NonceState>>,
}

impl TxSender {
    /// A sender for `signer` through `provider` (a plain provider: the sender signs itself).
    pub async fn new(
        provider: DynProvider,
        signer: PrivateKeySigner,
        config: SenderConfig,
    ) -> Result<Self, ChainError> {
        if config.fee_bump_per_mille < MIN_FEE_BUMP_PER_MILLE {
            return Err(ChainError::Invalid(format!("fee bump must be at least {MIN_FEE_BUMP_PER_MILLE} per mille")));
        }
        let chain_id = provider.get_chain_id().await?;
        let address = signer.address();
        Ok(TxSender {
            provider,
            wallet: EthereumWallet::from(signer),
            address,
            chain_id,
            config,
            state: Default::default(),
        })
    }

    /// The signer's address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The provider it sends through.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// Transactions broadcast and not yet confirmed.
    pub async fn in_flight(&self) -> usize {
        self.state.lock().await.in_flight.len()
    }

    async fn fees(&self) -> Result<(u128, u128), ChainError> {
        if let Some((max_fee, priority, at)) = self.state.lock().await.fees
            && at.elapsed() < self.config.fee_cache
        {
            return Ok((max_fee, priority));
        }
        let estimate = self.provider.estimate_eip1559_fees().await?;
        let fees = (estimate.max_fee_per_gas, estimate.max_priority_fee_per_gas);
        self.state.lock().await.fees = Some((fees.0, fees.1, Instant::now()));
        Ok(fees)
    }

    /// Fills gas and fees, takes the next nonce and broadcasts. Reverts found by gas estimation are
    /// returned as `Reverted` and consume no nonce.
    pub async fn send(&self, request: TransactionRequest) -> Result<SentTx, ChainError> {
        let mut request = request.with_from(self.address).with_chain_id(self.chain_id);
        if request.gas.is_none() {
            let estimate = self.provider.estimate_gas(request.clone()).await?;
            request = request.with_gas_limit(estimate.saturating_mul(GAS_LIMIT_MARGIN_PERCENT) / 100);
        }
        if request.max_fee_per_gas.is_none() {
            let (max_fee, priority) = self.fees().await?;
            request = request.with_max_fee_per_gas(max_fee).with_max_priority_fee_per_gas(priority);
        }
        let mut state = self.state.lock().await;
        let mut last_error = None;
        for _ in 0..NONCE_RETRIES {
            let nonce = match state.next {
                Some(n) => n,
                None => self.provider.get_transaction_count(self.address).pending().await?,
            };
            let signed = request.clone().with_nonce(nonce);
            let raw = self.sign(signed.clone()).await?;
            match self.broadcast(&raw).await {
                Ok(hash) => {
                    state.next = Some(nonce + 1);
                    state
                        .in_flight
                        .insert(nonce, InFlight { request: signed, raw, hashes: vec![hash], sent_at: Instant::now() });
                    return Ok(SentTx { hash, nonce });
                }
                // A fresh nonce refused as an underpriced *replacement* is one another sender of this
                // key took meanwhile: a nonce conflict too.
                Err(ChainError::Nonce(message)) | Err(ChainError::Underpriced(message))
                    if is_nonce_conflict(&message) =>
                {
                    tracing::warn!(nonce, %message, "nonce conflict; resynchronising from the chain");
                    state.next = Some(self.provider.get_transaction_count(self.address).pending().await?);
                    last_error = Some(ChainError::Nonce(message));
                }
                // Nothing was accepted: the nonce stays free for the next send, so no gap opens.
                Err(other) => return Err(other),
            }
        }
        Err(last_error.unwrap_or_else(|| ChainError::Nonce("nonce retries exhausted".into())))
    }

    async fn sign(&self, request: TransactionRequest) -> Result<Bytes, ChainError> {
        let envelope =
            request.build(&self.wallet).await.map_err(|e| ChainError::Invalid(format!("building transaction: {e}")))?;
        Ok(envelope.encoded_2718().into())
    }

    async fn broadcast(&self, raw: &Bytes) -> Result<B256, ChainError> {
        match self.provider.send_raw_transaction(raw).await {
            Ok(pending) => Ok(*pending.tx_hash()),
            Err(e) => {
                let message = e.to_string();
                if message.to_ascii_lowercase().contains("already known") {
                    Ok(alloy::primitives::keccak256(raw))
                } else {
                    Err(ChainError::from_rpc_message(&message))
                }
            }
        }
    }

    /// Sends and waits for the confirmed receipt.
    pub async fn send_and_confirm(&self, request: TransactionRequest) -> Result<TransactionReceipt, ChainError> {
        let sent = self.send(request).await?;
        self.confirm(sent).await
    }

    /// Waits until `sent` (or a replacement of it) is mined with enough confirmations. Broadcasts it
    /// again if the node dropped it, replaces it with higher fees when stuck.
    pub async fn confirm(&self, sent: SentTx) -> Result<TransactionReceipt, ChainError> {
        let started = Instant::now();
        loop {
            if started.elapsed() > self.config.receipt_timeout {
                return Err(ChainError::Timeout(format!(
                    "nonce {} not mined within {:?}",
                    sent.nonce, self.config.receipt_timeout
                )));
            }
            let flight = self.state.lock().await.in_flight.get(&sent.nonce).cloned();
            let Some(flight) = flight else {
                return Err(ChainError::Invalid(format!("nonce {} is not in flight", sent.nonce)));
            };
            for hash in flight.hashes.iter().rev() {
                if let Some(receipt) = self.provider.get_transaction_receipt(*hash).await? {
                    self.await_confirmations(&receipt).await?;
                    self.state.lock().await.in_flight.remove(&sent.nonce);
                    return Ok(receipt);
                }
            }
            let latest = *flight.hashes.last().unwrap_or(&sent.hash);
            if self.provider.get_transaction_by_hash(latest).await?.is_none() {
                self.rebroadcast_dropped(sent.nonce, &flight).await?;
            } else if flight.sent_at.elapsed() > self.config.stuck_after {
                self.replace(sent.nonce).await?;
            }
            tokio::time::sleep(self.config.poll_interval).await;
        }
    }

    async fn await_confirmations(&self, receipt: &TransactionReceipt) -> Result<(), ChainError> {
        let Some(mined_in) = receipt.block_number else { return Ok(()) };
        loop {
            let head = self.provider.get_block_number().await?;
            if head + 1 >= mined_in + self.config.confirmations {
                return Ok(());
            }
            tokio::time::sleep(self.config.poll_interval).await;
        }
    }

    /// The node forgot the transaction (dropped from its pool): send the same bytes again; if its nonce
    /// was meanwhile used by something else, resynchronise and report it.
    async fn rebroadcast_dropped(&self, nonce: u64, flight: &InFlight) -> Result<(), ChainError> {
        tracing::warn!(nonce, "transaction dropped by the node; broadcasting it again");
        match self.broadcast(&flight.raw).await {
            Ok(_) => {
                if let Some(entry) = self.state.lock().await.in_flight.get_mut(&nonce) {
                    entry.sent_at = Instant::now();
                }
                Ok(())
            }
            Err(ChainError::Nonce(message)) => {
                for hash in &flight.hashes {
                    if self.provider.get_transaction_receipt(*hash).await?.is_some() {
                        return Ok(()); // mined after all; the next poll returns it
                    }
                }
                let mut state = self.state.lock().await;
                state.in_flight.remove(&nonce);
                state.next = Some(self.provider.get_transaction_count(self.address).pending().await?);
                Err(ChainError::Nonce(format!("nonce {nonce} was used by another transaction: {message}")))
            }
            Err(ChainError::Underpriced(_)) => self.replace(nonce).await,
            Err(other) => Err(other),
        }
    }

    /// Re-signs the transaction of `nonce` with fees bumped by the configured per-mille (at least the
    /// node's current estimate) and broadcasts it.
    async fn replace(&self, nonce: u64) -> Result<(), ChainError> {
        let (current_max, current_priority) = self.fees().await?;
        let mut state = self.state.lock().await;
        let Some(flight) = state.in_flight.get(&nonce).cloned() else { return Ok(()) };
        let bump = |old: Option<u128>, floor: u128| {
            let old = old.unwrap_or(floor);
            (old + (old * self.config.fee_bump_per_mille).div_ceil(1000)).max(floor)
        };
        let max_fee = bump(flight.request.max_fee_per_gas, current_max);
        let priority = bump(flight.request.max_priority_fee_per_gas, current_priority).min(max_fee);
        let request = flight.request.clone().with_max_fee_per_gas(max_fee).with_max_priority_fee_per_gas(priority);
        let raw = self.sign(request.clone()).await?;
        let hash = self.broadcast(&raw).await?;
        tracing::warn!(nonce, %hash, max_fee, "replaced a stuck transaction with higher fees");
        if let Some(entry) = state.in_flight.get_mut(&nonce) {
            entry.request = request;
            entry.raw = raw;
            entry.hashes.push(hash);
            entry.sent_at = Instant::now();
        }
        Ok(())
    }
}
