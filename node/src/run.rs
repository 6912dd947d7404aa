//! Starting a node: open the store, load the chain, start the driver and the API.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use jeon_genesis::{GenesisError, GenesisSpec};
use jeon_runtime::Keypair;
use tokio::net::TcpListener;
use tracing::{error, info};

use crate::chain::{ChainSpec, Db, Shared};
use crate::driver::{Driver, DriverConfig};
use crate::store::{ChainDb, SledStore, Store, StoreError};

/// Everything a node needs to start.
pub struct NodeConfig {
    /// The chain.
    pub genesis: GenesisSpec,
    /// The validator key (a full node when absent or not in the validator set).
    pub key: Option<Keypair>,
    /// Where the database lives.
    pub data_dir: PathBuf,
    /// Where the API listens (port 0 picks a free port).
    pub api_addr: SocketAddr,
    /// Block pacing and consensus timeouts.
    pub driver: DriverConfig,
}

/// Why a node could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The genesis spec could not be turned into a chain.
    #[error("genesis: {0}")]
    Genesis(#[from] GenesisError),
    /// The data directory could not be opened or is for another chain.
    #[error("data directory {dir}: {source}")]
    Store {
        /// The directory.
        dir: PathBuf,
        /// What failed.
        source: StoreError,
    },
    /// The API address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Consensus stopped on an error.
    #[error("consensus stopped: {0}")]
    Driver(#[from] crate::driver::DriverError),
    /// The HTTP server failed.
    #[error("API server: {0}")]
    Serve(std::io::Error),
}

impl ChainSpec {
    /// Derives the chain (id, initial state, validators) from a validated genesis spec.
    pub fn from_genesis(genesis: &GenesisSpec) -> Result<Self, GenesisError> {
        genesis.validate()?;
        let (genesis_changes, genesis_app_hash) = genesis.build_state()?;
        Ok(ChainSpec {
            chain_id: genesis.hash(),
            genesis_changes,
            genesis_app_hash,
            genesis_time_ms: genesis.genesis_time_ms,
            validators: genesis.validators(),
        })
    }
}

/// A started node.
pub struct RunningNode {
    /// State shared with the API.
    pub shared: Arc<Shared>,
    /// The address the API is bound to.
    pub api_addr: SocketAddr,
    listener: TcpListener,
    driver: Driver,
}

/// Opens the data directory, writes or checks genesis, and binds the API.
pub async fn start(config: NodeConfig) -> Result<RunningNode, NodeError> {
    let spec = ChainSpec::from_genesis(&config.genesis)?;
    let dir = config.data_dir.clone();
    let store_err = |source| NodeError::Store {
        dir: dir.clone(),
        source,
    };
    let store: Box<dyn Store> =
        Box::new(SledStore::open(&config.data_dir.join("db")).map_err(store_err)?);
    let db: Db = ChainDb::new(store);
    let shared = Shared::open(db, &spec).map_err(store_err)?;
    let driver = Driver::new(shared.clone(), config.key, config.driver)?;
    let listener =
        TcpListener::bind(config.api_addr)
            .await
            .map_err(|source| NodeError::Listen {
                addr: config.api_addr,
                source,
            })?;
    let api_addr = listener.local_addr().map_err(NodeError::Serve)?;
    let head = shared.head();
    info!(chain_id = %spec.chain_id, height = head.height, app_hash = %head.app_hash, "chain loaded");
    Ok(RunningNode {
        shared,
        api_addr,
        listener,
        driver,
    })
}

impl RunningNode {
    /// Serves the API and runs consensus until `shutdown` resolves or consensus fails.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), NodeError> {
        let app = crate::api::router(self.shared.clone());
        info!(api = %format!("http://{}", self.api_addr), "API listening");
        let server = axum::serve(self.listener, app).with_graceful_shutdown(shutdown);
        let driver = tokio::spawn(self.driver.run());
        tokio::select! {
            served = server => served.map_err(NodeError::Serve),
            stopped = driver => match stopped {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => {
                    error!(error = %e, "consensus stopped");
                    Err(NodeError::Driver(e))
                }
                Err(join) => Err(NodeError::Serve(std::io::Error::other(join.to_string()))),
            },
        }
    }
}
