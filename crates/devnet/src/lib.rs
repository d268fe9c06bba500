//! Local development networks, kept out of the production crates: anvil chains run as child processes,
//! the two-chain devnet of `triggerx up` and `triggerx devnet`, the keepers `up` runs itself, its
//! description file (`up.json`), and the demo workload of `up --demo`.

pub mod anvil;
pub mod demo;
pub mod local_keepers;
pub mod network;
pub mod up_file;

pub use network::{Devnet, DevnetOptions, L1_CHAIN_ID, L2_CHAIN_ID};
