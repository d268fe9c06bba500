//! Follows each `AttestationCenter`'s `TaskSubmitted` / `TaskRejected` and records the settlement on
//! the task (verdict, task number, attesters, aggregate signature, settlement transaction) with the
//! keepers' points, once (`Store::record_settlement`). The non-signers and the signature are not in
//! the event (they would cost gas per non-signer on every settlement): they are read from the
//! settlement transaction's `submitTask` input, and the attesters are the registered operators that
//! are not among the non-signers. A settlement whose transaction is not a direct `submitTask` call
//! (a contract relayed it) is still recorded, without attesters.

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Log;
use alloy::sol_types::{SolCall, SolEvent};
use triggerx_attestation::split_settlement_id;
use triggerx_chain::ChainError;
use triggerx_chain::bindings::AttestationCenter;
use triggerx_chain::watcher::{LogFilter, LogWatcher, WatchEvent, WatcherConfig};
use triggerx_core::assignment::store_task_id;
use triggerx_core::keeper::Keeper;
use triggerx_store::{Store, TaskSettlement};

use crate::RegistrarError;

/// Follows one center.
pub(crate) struct OutcomeFollower {
    watcher: LogWatcher<Store>,
    provider: DynProvider,
    store: Store,
    /// The store's namespace of hub task ids (settlements of other stores' tasks are not ours).
    namespace: u64,
}

/// What a settlement log says.
struct Verdict {
    accepted: bool,
    /// The settlement's data (where the execution is).
    data: alloy::primitives::Bytes,
    /// The center's id: the hub's task id and the attempt (`triggerx_attestation::settlement_id`).
    settlement_id: U256,
    task_number: i64,
    performer: Address,
}

fn verdict(log: &Log) -> Option<Verdict> {
    let number = |n: u32| i64::from(n);
    if let Ok(e) = AttestationCenter::TaskSubmitted::decode_log(&log.inner) {
        return Some(Verdict {
            accepted: true,
            data: e.data.data.clone(),
            settlement_id: e.taskId,
            task_number: number(e.taskNumber),
            performer: e.operator,
        });
    }
    if let Ok(e) = AttestationCenter::TaskRejected::decode_log(&log.inner) {
        return Some(Verdict {
            accepted: false,
            data: e.data.data.clone(),
            settlement_id: e.taskId,
            task_number: number(e.taskNumber),
            performer: e.operator,
        });
    }
    None
}

impl OutcomeFollower {
    /// A follower of the center at `center`, its checkpoint named after the chain and address.
    pub(crate) async fn new(
        store: Store,
        provider: DynProvider,
        center: Address,
        confirmations: u64,
        poll_interval: std::time::Duration,
    ) -> Result<OutcomeFollower, RegistrarError> {
        let chain_id = provider.get_chain_id().await.map_err(ChainError::from)?;
        let config = WatcherConfig { confirmations, start_block: Some(0), poll_interval, ..Default::default() };
        let name = format!("registrar:outcomes:{chain_id}:{center:#x}");
        let watcher = LogWatcher::new(provider.clone(), name, config, store.clone());
        for topic in [AttestationCenter::TaskSubmitted::SIGNATURE_HASH, AttestationCenter::TaskRejected::SIGNATURE_HASH]
        {
            watcher.add_filter(LogFilter { address: Some(center), topic0: Some(topic) }).await;
        }
        let namespace = store.task_namespace().await?;
        Ok(OutcomeFollower { watcher, provider, store, namespace })
    }

    /// Records the settlements of the next range of blocks; returns how many were new and whether a
    /// range was scanned.
    pub(crate) async fn step(&self, hubs: &[crate::Administered]) -> Result<(usize, bool), RegistrarError> {
        let batch = self.watcher.next_batch().await?;
        let mut recorded = 0;
        // The keepers are read once per batch, and only when it holds a settlement.
        let mut keepers = None;
        for event in &batch.events {
            match event {
                WatchEvent::Removed(id) => {
                    tracing::warn!(
                        block = id.block_number,
                        "a settlement block was reorganised away; its outcome stays recorded"
                    )
                }
                WatchEvent::Log { log, .. } => {
                    let Some(verdict) = verdict(log) else {
                        return Err(RegistrarError::Decode(format!("{:?}", log.topics().first())));
                    };
                    // The fee first: a failure retries the whole batch (both steps are idempotent).
                    crate::fees::release(hubs, verdict.settlement_id, verdict.accepted, &verdict.data).await?;
                    let (hub_task_id, attempt) = split_settlement_id(verdict.settlement_id);
                    let Some(task_id) = store_task_id(self.namespace, hub_task_id) else { continue };
                    if self.record(task_id, attempt, &verdict, log.transaction_hash, &mut keepers).await? {
                        recorded += 1;
                        tracing::info!(
                            task_id,
                            attempt,
                            task_number = verdict.task_number,
                            accepted = verdict.accepted,
                            performer = %verdict.performer,
                            "task settled on-chain"
                        );
                    }
                }
            }
        }
        self.watcher.commit(&batch).await?;
        Ok((recorded, batch.to.is_some()))
    }

    async fn record(
        &self,
        task_id: i64,
        attempt: u32,
        verdict: &Verdict,
        tx_hash: Option<B256>,
        keepers: &mut Option<Vec<Keeper>>,
    ) -> Result<bool, RegistrarError> {
        let (mut attester_ids, mut signature) = (Vec::new(), String::new());
        if let Some(hash) = tx_hash {
            let tx = self.provider.get_transaction_by_hash(hash).await.map_err(ChainError::from)?;
            let input = tx.as_ref().map(|t| alloy::consensus::Transaction::input(t).clone());
            match input.as_ref().map(|bytes| AttestationCenter::submitTaskCall::abi_decode(bytes)) {
                Some(Ok(call)) => {
                    let absent: Vec<u64> =
                        call.quorum.nonSignerIds.iter().filter_map(|id| u64::try_from(*id).ok()).collect();
                    if keepers.is_none() {
                        *keepers = Some(self.store.list_keepers().await?);
                    }
                    for keeper in keepers.iter().flatten() {
                        let Some(operator) = keeper.operator_id.and_then(|id| u64::try_from(id).ok()) else {
                            continue;
                        };
                        if keeper.registered && !absent.contains(&operator) {
                            attester_ids.push(keeper.keeper_id);
                        }
                    }
                    signature = format!("0x{:064x}{:064x}", call.quorum.signature[0], call.quorum.signature[1]);
                }
                _ => tracing::warn!(tx = %hash, "settlement not sent as a direct submitTask call; attesters unknown"),
            }
        }
        Ok(self
            .store
            .record_settlement(&TaskSettlement {
                task_id,
                attempt: i64::from(attempt),
                accepted: verdict.accepted,
                task_number: verdict.task_number,
                attester_ids,
                ta_signature: signature,
                submission_tx_hash: tx_hash.map(|h| format!("{h:#x}")).unwrap_or_default(),
            })
            .await?)
    }
}
