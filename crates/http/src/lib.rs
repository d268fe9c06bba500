//! TriggerX HTTP guards: the hardened server loop every service listens with, and the outbound client
//! that never reaches loopback, private or metadata addresses unless the operator allows them.

pub mod outbound;
pub mod server;

pub use ipnet::IpNet;
pub use outbound::{AddressPolicy, OutboundError};
pub use server::{ServerLimits, error_response, guarded, serve};
