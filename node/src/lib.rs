//! The Jeon node: the pure consensus core and the shell around it (store, mempool,
//! signer guard, block production, HTTP API).

pub mod api;
pub mod blocks;
pub mod byzantine;
pub mod chain;
pub mod checkpoint;
pub mod consensus;
pub mod crash;
pub mod dirlock;
pub mod driver;
pub mod evidence;
pub mod faults;
pub mod handle;
pub mod http;
pub mod insights;
pub mod mempool;
pub mod metrics;
pub mod net;
pub mod p2p;
pub mod pipeline;
pub mod proofs;
pub mod ratelimit;
pub mod replica;
pub mod run;
pub mod segments;
pub mod signer;
pub mod sledwal;
pub mod snapshot;
pub mod statecache;
pub mod statesync;
pub mod store;
pub mod txindex;
pub mod wire;
