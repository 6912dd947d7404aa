//! `jeon tx register-node`, `unregister-node`: a partner's read nodes, which connect to
//! the network, sync and serve the API but never vote (docs/operations.md, "Running a
//! read node").

use clap::Args;
use jeon_runtime::{calls, Address, Call};

use super::{fixed, Draft, DraftCall, TxArgs};
use crate::error::CliError;

/// As a partner (any role), register a read node's key: every node then admits it as a
/// peer, with no restart. The node's address is what `jeon keys show NODE_KEY_FILE`
/// prints. At most 8 per partner.
#[derive(Debug, Args)]
pub(crate) struct RegisterNodeArgs {
    /// The read node key's address (its libp2p identity).
    #[arg(long, value_name = "ADDR")]
    node: Address,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for RegisterNodeArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let call = Call::RegisterNode(calls::RegisterNode { key: self.node });
        Ok((fixed(call), self.common))
    }
}

/// As the partner that registered it, unregister a read node: every node refuses it
/// from then on.
#[derive(Debug, Args)]
pub(crate) struct UnregisterNodeArgs {
    /// The read node key's address.
    #[arg(long, value_name = "ADDR")]
    node: Address,
    #[command(flatten)]
    common: TxArgs,
}

impl DraftCall for UnregisterNodeArgs {
    fn draft(self) -> Result<(Draft, TxArgs), CliError> {
        let call = Call::UnregisterNode(calls::UnregisterNode { key: self.node });
        Ok((fixed(call), self.common))
    }
}
