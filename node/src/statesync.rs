//! State sync over `/jeon/snapshot/1` (docs/network.md §7, docs/operations.md §9): a
//! node serves its checkpoints ([`crate::checkpoint`]) to peers, and a node started on
//! an empty data directory with `--state-sync` fetches the newest one, checks it
//! exactly as `jeon snapshot import` does, and starts from it.
//!
//! A checkpoint file is served frame by frame: the offer lists each frame's BLAKE3
//! (the manifest), and chunk `i` is frame `i`'s payload. The client fetches the frames
//! of one manifest from every peer offering it, checks each against the manifest (a
//! bad one is asked again of another peer and its sender penalized), writes them in
//! order to `DIR/state-sync.partial`, then imports that file: the set-change chain,
//! the successor's certificate, and the LtHash against the certified app hash. Only
//! then does the directory hold a chain; a failure empties it again.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tracing::{info, warn};

use jeon_genesis::GenesisSpec;
use jeon_runtime::codec;

use crate::checkpoint;
use crate::p2p::{P2pCommand, P2pEvent, PeerId, SYNC_RESPONSE_BYTES_MAX};
use crate::snapshot::{self, FrameReader, SnapshotError, Stats, FRAME_BYTES_MAX, MAGIC};
use crate::store::SledStore;

/// The most checkpoints one offer lists.
pub const OFFERS_MAX: usize = checkpoint::CHECKPOINTS_KEPT;
/// The most frames one manifest lists (header, chunks, end).
pub const MANIFEST_FRAMES_MAX: usize = 1 << 20;
/// Bytes of chunks one peer may fetch from this node per second; past it the node
/// answers `Busy` and the peer asks again later.
pub const SERVE_BYTES_PER_SEC_PER_PEER: u64 = 64 << 20;
/// Chunk requests in flight per serving peer.
pub const FETCHES_PER_PEER_MAX: usize = 2;
/// How long the client waits for peers and their offers.
pub const OFFERS_WAIT_MS: u64 = 60_000;
/// How long one round of asking for offers lasts; without any, it asks again.
pub const OFFERS_RETRY_MS: u64 = 2_000;
/// How long the whole fetch may take without any chunk arriving.
pub const FETCH_STALL_MS: u64 = 60_000;

/// A state-sync request.
#[derive(Serialize, Deserialize, Debug)]
pub enum SnapshotRequest {
    /// Which checkpoints do you offer?
    List,
    /// Frame `index` of checkpoint `height`.
    Chunk {
        /// The checkpoint.
        height: u64,
        /// The frame, from 0 (the header).
        index: u32,
    },
}

/// A state-sync response.
#[derive(Serialize, Deserialize, Debug)]
pub enum SnapshotResponse {
    /// The checkpoints offered, newest last.
    List(Vec<Offer>),
    /// A frame's payload.
    Chunk(Vec<u8>),
    /// Over this peer's budget: ask again later.
    Busy,
    /// Not offered (any more).
    Unavailable,
}

/// One offered checkpoint: its height and manifest.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Hash)]
pub struct Offer {
    /// The snapshot's head.
    pub height: u64,
    /// Each frame's BLAKE3, in file order.
    pub frames: Vec<[u8; 32]>,
}

/// Where each frame of a checkpoint file is: (payload offset, payload length).
struct Manifest {
    path: PathBuf,
    frames: Vec<(u64, u32)>,
    offer: Offer,
}

/// Serves this node's checkpoints.
pub struct SnapshotServer {
    data_dir: PathBuf,
    manifests: Mutex<HashMap<u64, std::sync::Arc<Manifest>>>,
    budgets: Mutex<HashMap<PeerId, (Instant, u64)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SnapshotServer {
    /// Serves the checkpoints in `data_dir`/snapshots.
    pub fn new(data_dir: PathBuf) -> Self {
        SnapshotServer {
            data_dir,
            manifests: Mutex::new(HashMap::new()),
            budgets: Mutex::new(HashMap::new()),
        }
    }

    /// The manifests of the checkpoints on disk (scanned once per file).
    fn manifests(&self) -> Vec<std::sync::Arc<Manifest>> {
        let on_disk = checkpoint::list(&self.data_dir);
        let mut known = lock(&self.manifests);
        known.retain(|h, _| on_disk.iter().any(|(d, _)| d == h));
        let mut out = Vec::new();
        for (height, path) in on_disk.into_iter().rev().take(OFFERS_MAX).rev() {
            if let Some(m) = known.get(&height) {
                out.push(m.clone());
                continue;
            }
            match scan_manifest(height, &path) {
                Ok(m) => {
                    let m = std::sync::Arc::new(m);
                    known.insert(height, m.clone());
                    out.push(m);
                }
                Err(error) => warn!(%error, path = %path.display(), "cannot serve a checkpoint"),
            }
        }
        out
    }

    /// The answer to `data` from `peer`; `Err` for an undecodable request.
    pub fn serve(&self, peer: PeerId, data: &[u8]) -> Result<Vec<u8>, String> {
        let request: SnapshotRequest =
            codec::decode(data, data.len()).map_err(|e| e.to_string())?;
        let response = match request {
            SnapshotRequest::List => {
                SnapshotResponse::List(self.manifests().iter().map(|m| m.offer.clone()).collect())
            }
            SnapshotRequest::Chunk { height, index } => self.chunk(peer, height, index),
        };
        Ok(codec::encode(&response))
    }

    fn chunk(&self, peer: PeerId, height: u64, index: u32) -> SnapshotResponse {
        let Some(m) = self
            .manifests()
            .into_iter()
            .find(|m| m.offer.height == height)
        else {
            return SnapshotResponse::Unavailable;
        };
        let Some(&(offset, len)) = m.frames.get(index as usize) else {
            return SnapshotResponse::Unavailable;
        };
        {
            let mut budgets = lock(&self.budgets);
            let now = Instant::now();
            let entry = budgets.entry(peer).or_insert((now, 0));
            if now.duration_since(entry.0) >= Duration::from_secs(1) {
                *entry = (now, 0);
            }
            if entry.1 + u64::from(len) > SERVE_BYTES_PER_SEC_PER_PEER && entry.1 > 0 {
                return SnapshotResponse::Busy;
            }
            entry.1 += u64::from(len);
        }
        let read = || -> std::io::Result<Vec<u8>> {
            let mut f = std::fs::File::open(&m.path)?;
            f.seek(SeekFrom::Start(offset))?;
            let mut payload = vec![0u8; len as usize];
            f.read_exact(&mut payload)?;
            Ok(payload)
        };
        match read() {
            Ok(payload) => SnapshotResponse::Chunk(payload),
            Err(_) => SnapshotResponse::Unavailable,
        }
    }
}

/// Reads a checkpoint file's frame headers: where each payload is and its BLAKE3.
fn scan_manifest(height: u64, path: &Path) -> std::io::Result<Manifest> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let mut f = std::io::BufReader::new(std::fs::File::open(path)?);
    let size = f.get_ref().metadata()?.len();
    let mut magic = [0u8; 8];
    f.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(bad("not a snapshot"));
    }
    let (mut at, mut frames, mut sums) = (8u64, Vec::new(), Vec::new());
    while at < size {
        let mut head = [0u8; 36];
        f.read_exact(&mut head)?;
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        if len > FRAME_BYTES_MAX || u64::from(len) + 36 > SYNC_RESPONSE_BYTES_MAX {
            return Err(bad("a frame too large to serve"));
        }
        let mut sum = [0u8; 32];
        sum.copy_from_slice(&head[4..]);
        frames.push((at + 36, len));
        sums.push(sum);
        at += 36 + u64::from(len);
        f.seek_relative(i64::from(len))?;
        if frames.len() > MANIFEST_FRAMES_MAX {
            return Err(bad("too many frames"));
        }
    }
    Ok(Manifest {
        path: path.to_owned(),
        frames,
        offer: Offer {
            height,
            frames: sums,
        },
    })
}

/// Why state sync failed (the data directory is left empty).
#[derive(Debug, thiserror::Error)]
pub enum StateSyncError {
    /// No peer connected, or none offered a checkpoint.
    #[error("state sync: {0}")]
    NoSnapshot(String),
    /// Fetching stopped: every peer offering the checkpoint failed or went quiet.
    #[error("state sync: fetching checkpoint {height} failed: {reason}")]
    Fetch {
        /// The checkpoint.
        height: u64,
        /// Why.
        reason: String,
    },
    /// The fetched snapshot was refused.
    #[error("state sync: the snapshot was refused: {0}")]
    Refused(#[from] SnapshotError),
    /// The data directory.
    #[error("state sync: {0}")]
    Io(#[from] std::io::Error),
}

/// What a state sync did.
#[derive(Debug, Clone, Copy)]
pub struct SyncStats {
    /// The import's figures (height, entries, bytes, seconds of the import).
    pub import: Stats,
    /// Seconds from the first offer to the last chunk.
    pub fetch_seconds: f64,
    /// Peers chunks came from.
    pub peers: usize,
}

/// The p2p channels state sync runs over (the node's swarm, before the node starts).
pub struct Channels<'a> {
    /// Commands to the swarm.
    pub commands: &'a mpsc::Sender<P2pCommand>,
    /// Its events.
    pub events: &'a mut mpsc::Receiver<P2pEvent>,
}

/// Syncs the empty `data_dir` from peers: offers, fetch, import. On any error the
/// directory is emptied again. Returns the database the import wrote, still open:
/// the node goes on with this handle rather than reopening the directory, because
/// sled 0.34 releases its file lock only when its background threads finish, after
/// the last handle is dropped (spacejam/sled#1234), and an immediate reopen can be
/// refused as "in use" (as it was in a CI run).
pub async fn sync(
    net: Channels<'_>,
    genesis: &GenesisSpec,
    data_dir: &Path,
) -> Result<(SyncStats, std::sync::Arc<SledStore>), StateSyncError> {
    let (offer, peers) = collect_offers(&net.commands.clone(), net.events).await?;
    info!(
        height = offer.height,
        frames = offer.frames.len(),
        peers = peers.len(),
        "state sync: fetching a checkpoint"
    );
    let partial = data_dir.join("state-sync.partial");
    let started = Instant::now();
    let fetched = fetch(net, &offer, peers, &partial).await;
    let fetch_seconds = started.elapsed().as_secs_f64();
    let result = match fetched {
        Ok(used) => {
            let (genesis, dir, file) = (genesis.clone(), data_dir.to_owned(), partial.clone());
            tokio::task::spawn_blocking(move || import_file(&file, &genesis, &dir))
                .await
                .map_err(|e| StateSyncError::Io(std::io::Error::other(e.to_string())))
                .and_then(|r| r)
                .map(|(import, store)| {
                    let stats = SyncStats {
                        import,
                        fetch_seconds,
                        peers: used,
                    };
                    (stats, store)
                })
        }
        Err(e) => Err(e),
    };
    let _ = std::fs::remove_file(&partial);
    if result.is_err() {
        for sub in ["db", "blocks", "txindex"] {
            let _ = std::fs::remove_dir_all(data_dir.join(sub));
        }
    }
    result
}

/// Imports the fetched file into `dir`, with every check of `jeon snapshot import`;
/// refuses a snapshot whose app hash no successor block certifies.
fn import_file(
    file: &Path,
    genesis: &GenesisSpec,
    dir: &Path,
) -> Result<(Stats, std::sync::Arc<SledStore>), StateSyncError> {
    let f = std::fs::File::open(file)?;
    let (mut reader, header) = FrameReader::open(std::io::BufReader::new(f))?;
    if header.successor.is_none() {
        return Err(SnapshotError::Refused(
            "a checkpoint from a peer must carry its successor block".into(),
        )
        .into());
    }
    let set = snapshot::certifying_set(&header, &genesis.hash(), &genesis.validators())?;
    let store =
        std::sync::Arc::new(SledStore::open(&dir.join("db")).map_err(SnapshotError::Store)?);
    let db = crate::run::open_db_on(store.clone(), dir).map_err(SnapshotError::Store)?;
    let stats = snapshot::import(&mut reader, &header, &set, &db)?;
    Ok((stats, store))
}

/// Asks every connected peer for its offers, again every [`OFFERS_RETRY_MS`] while
/// none offers one (a checkpoint may be still to come); picks the newest checkpoint,
/// and of its manifests the one most peers offer.
async fn collect_offers(
    commands: &mpsc::Sender<P2pCommand>,
    events: &mut mpsc::Receiver<P2pEvent>,
) -> Result<(Offer, Vec<PeerId>), StateSyncError> {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(OFFERS_WAIT_MS);
    let mut connected: Vec<PeerId> = Vec::new();
    let mut asked: HashMap<u64, PeerId> = HashMap::new();
    let mut offers: HashMap<Offer, Vec<PeerId>> = HashMap::new();
    let mut answered = 0usize;
    let mut round_end = tokio::time::Instant::now() + Duration::from_millis(OFFERS_RETRY_MS);
    loop {
        let event = match tokio::time::timeout_at(round_end.min(deadline), events.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) => break,
            Err(_) if !offers.is_empty() || tokio::time::Instant::now() >= deadline => break,
            Err(_) => {
                for peer in connected.clone() {
                    ask_offers(commands, &mut asked, peer).await;
                }
                round_end = tokio::time::Instant::now() + Duration::from_millis(OFFERS_RETRY_MS);
                continue;
            }
        };
        match event {
            P2pEvent::Connected(peer) => {
                connected.push(peer);
                ask_offers(commands, &mut asked, peer).await;
            }
            P2pEvent::Disconnected(peer) => connected.retain(|p| *p != peer),
            P2pEvent::Response { id, from, data } if asked.get(&id) == Some(&from) => {
                answered += 1;
                match codec::decode::<SnapshotResponse>(&data, data.len()) {
                    Ok(SnapshotResponse::List(list)) if list.len() <= OFFERS_MAX => {
                        if offers.is_empty() && !list.is_empty() {
                            // The others get a round to answer too: chunks then come
                            // from several peers.
                            round_end = tokio::time::Instant::now()
                                + Duration::from_millis(OFFERS_RETRY_MS);
                        }
                        for offer in list {
                            let peers = offers.entry(offer).or_default();
                            if !peers.contains(&from) {
                                peers.push(from);
                            }
                        }
                    }
                    _ => penalize(commands, from, "a bad snapshot offer").await,
                }
                let offered: std::collections::HashSet<&PeerId> =
                    offers.values().flatten().collect();
                if !offers.is_empty() && connected.iter().all(|p| offered.contains(p)) {
                    break;
                }
            }
            P2pEvent::RequestFailed { peer, error, .. } => {
                warn!(%peer, %error, "state sync: a peer did not answer the offer request");
            }
            _ => {}
        }
    }
    let best = offers
        .into_iter()
        .max_by_key(|(offer, peers)| (offer.height, peers.len()));
    match best {
        Some((offer, peers)) => Ok((offer, peers)),
        None => Err(StateSyncError::NoSnapshot(format!(
            "in {} s, {} peers connected, {answered} answers, none offers a checkpoint (do they run with state_sync_interval > 0, and have they reached it?)",
            OFFERS_WAIT_MS / 1000,
            connected.len()
        ))),
    }
}

async fn ask_offers(
    commands: &mpsc::Sender<P2pCommand>,
    asked: &mut HashMap<u64, PeerId>,
    peer: PeerId,
) {
    let id = asked.len() as u64;
    asked.insert(id, peer);
    let data = codec::encode(&SnapshotRequest::List);
    let _ = commands
        .send(P2pCommand::SnapshotRequest { peer, id, data })
        .await;
}

async fn penalize(commands: &mpsc::Sender<P2pCommand>, peer: PeerId, reason: &str) {
    let reason = reason.to_owned();
    let _ = commands.send(P2pCommand::Penalize { peer, reason }).await;
}

/// The fetch's bookkeeping.
struct Fetch {
    todo: VecDeque<u32>,
    /// Request id → (frame, peer).
    flying: HashMap<u64, (u32, PeerId)>,
    /// Fetched frames not yet written (written in order).
    done: BTreeMap<u32, Vec<u8>>,
    next_write: u32,
    next_id: u64,
    peers: Vec<PeerId>,
    used: std::collections::HashSet<PeerId>,
}

/// Fetches every frame of `offer` from `peers` into `partial`; returns how many peers
/// served chunks.
async fn fetch(
    net: Channels<'_>,
    offer: &Offer,
    peers: Vec<PeerId>,
    partial: &Path,
) -> Result<usize, StateSyncError> {
    let failed = |reason: String| StateSyncError::Fetch {
        height: offer.height,
        reason,
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(partial)?);
    out.write_all(MAGIC)?;
    let frames = u32::try_from(offer.frames.len()).map_err(|_| failed("too many frames".into()))?;
    let mut f = Fetch {
        todo: (0..frames).collect(),
        flying: HashMap::new(),
        done: BTreeMap::new(),
        next_write: 0,
        next_id: 1 << 32,
        peers,
        used: Default::default(),
    };
    while f.next_write < frames {
        send_requests(&mut f, net.commands, offer.height).await;
        if f.flying.is_empty() {
            return Err(failed("no peer left to fetch from".into()));
        }
        let event = tokio::time::timeout(Duration::from_millis(FETCH_STALL_MS), net.events.recv())
            .await
            .map_err(|_| failed(format!("no chunk for {FETCH_STALL_MS} ms")))?
            .ok_or_else(|| failed("the network stopped".into()))?;
        on_fetch_event(&mut f, net.commands, offer, event).await;
        while let Some(payload) = f.done.remove(&f.next_write) {
            let len = payload.len() as u32;
            out.write_all(&len.to_le_bytes())?;
            out.write_all(&offer.frames[f.next_write as usize])?;
            out.write_all(&payload)?;
            f.next_write += 1;
        }
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(f.used.len())
}

async fn send_requests(f: &mut Fetch, commands: &mpsc::Sender<P2pCommand>, height: u64) {
    for peer in f.peers.clone() {
        while f.flying.values().filter(|(_, p)| *p == peer).count() < FETCHES_PER_PEER_MAX {
            let Some(index) = f.todo.pop_front() else {
                return;
            };
            let id = f.next_id;
            f.next_id += 1;
            f.flying.insert(id, (index, peer));
            let data = codec::encode(&SnapshotRequest::Chunk { height, index });
            let _ = commands
                .send(P2pCommand::SnapshotRequest { peer, id, data })
                .await;
        }
    }
}

async fn on_fetch_event(
    f: &mut Fetch,
    commands: &mpsc::Sender<P2pCommand>,
    offer: &Offer,
    event: P2pEvent,
) {
    let (id, from, data) = match event {
        P2pEvent::Response { id, from, data } => (id, from, Some(data)),
        P2pEvent::RequestFailed { id, peer, .. } => (id, peer, None),
        P2pEvent::Disconnected(peer) => {
            f.peers.retain(|p| *p != peer);
            let lost: Vec<u64> = f
                .flying
                .iter()
                .filter(|(_, (_, p))| *p == peer)
                .map(|(id, _)| *id)
                .collect();
            for id in lost {
                if let Some((index, _)) = f.flying.remove(&id) {
                    f.todo.push_front(index);
                }
            }
            return;
        }
        _ => return,
    };
    let Some((index, peer)) = f.flying.remove(&id) else {
        return;
    };
    let response = data.map(|d| codec::decode::<SnapshotResponse>(&d, d.len()));
    match response {
        Some(Ok(SnapshotResponse::Chunk(payload)))
            if blake3::hash(&payload).as_bytes() == &offer.frames[index as usize] =>
        {
            f.used.insert(from);
            f.done.insert(index, payload);
        }
        Some(Ok(SnapshotResponse::Busy)) => {
            f.todo.push_back(index);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(Ok(SnapshotResponse::Chunk(_)))
        | Some(Err(_))
        | Some(Ok(SnapshotResponse::List(_))) => {
            warn!(%peer, index, "state sync: a chunk does not match the manifest; asking another peer");
            penalize(
                commands,
                peer,
                "a state-sync chunk that does not match its manifest",
            )
            .await;
            f.peers.retain(|p| *p != peer);
            f.todo.push_front(index);
        }
        Some(Ok(SnapshotResponse::Unavailable)) | None => {
            f.peers.retain(|p| *p != peer);
            f.todo.push_front(index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(seed: u8) -> PeerId {
        crate::p2p::peer_id(&[seed; 32]).expect("peer id")
    }

    #[tokio::test]
    async fn a_chunk_that_does_not_match_the_manifest_penalizes_its_peer_and_is_asked_of_another() {
        let good = b"frame zero".to_vec();
        let offer = Offer {
            height: 30,
            frames: vec![*blake3::hash(&good).as_bytes()],
        };
        let (liar, honest) = (peer(1), peer(2));
        let mut f = Fetch {
            todo: VecDeque::from([0]),
            flying: HashMap::new(),
            done: BTreeMap::new(),
            next_write: 0,
            next_id: 1,
            peers: vec![liar, honest],
            used: Default::default(),
        };
        let (commands, mut sent) = mpsc::channel(16);
        send_requests(&mut f, &commands, offer.height).await;
        let Some(P2pCommand::SnapshotRequest { peer, id, .. }) = sent.recv().await else {
            panic!("a chunk request");
        };
        assert_eq!(peer, liar, "the first peer is asked first");
        let bad = codec::encode(&SnapshotResponse::Chunk(b"frame 0".to_vec()));
        let event = P2pEvent::Response {
            id,
            from: liar,
            data: bad,
        };
        on_fetch_event(&mut f, &commands, &offer, event).await;
        let Some(P2pCommand::Penalize { peer, reason }) = sent.recv().await else {
            panic!("a penalty");
        };
        assert_eq!(peer, liar);
        assert!(reason.contains("manifest"), "{reason}");
        assert_eq!(f.peers, vec![honest], "the liar is asked nothing more");
        send_requests(&mut f, &commands, offer.height).await;
        let Some(P2pCommand::SnapshotRequest { peer, id, .. }) = sent.recv().await else {
            panic!("asked again");
        };
        assert_eq!(peer, honest);
        let data = codec::encode(&SnapshotResponse::Chunk(good.clone()));
        on_fetch_event(
            &mut f,
            &commands,
            &offer,
            P2pEvent::Response {
                id,
                from: honest,
                data,
            },
        )
        .await;
        assert_eq!(f.done.get(&0), Some(&good));
        assert!(f.used.contains(&honest) && !f.used.contains(&liar));
    }

    #[test]
    fn a_server_offers_its_checkpoints_frame_by_frame_and_refuses_what_it_does_not_hold() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = checkpoint::checkpoint_path(dir.path(), 20);
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        let payloads: [&[u8]; 2] = [b"header", b"chunk one"];
        let mut file = MAGIC.to_vec();
        for p in payloads {
            file.extend_from_slice(&(p.len() as u32).to_le_bytes());
            file.extend_from_slice(blake3::hash(p).as_bytes());
            file.extend_from_slice(p);
        }
        std::fs::write(&path, file).expect("write");
        let server = SnapshotServer::new(dir.path().to_owned());
        let ask = |r: SnapshotRequest| {
            let answer = server.serve(peer(3), &codec::encode(&r)).expect("served");
            codec::decode::<SnapshotResponse>(&answer, answer.len()).expect("decodes")
        };
        let SnapshotResponse::List(offers) = ask(SnapshotRequest::List) else {
            panic!("a list");
        };
        assert_eq!(offers.len(), 1);
        assert_eq!(offers[0].height, 20);
        assert_eq!(offers[0].frames[1], *blake3::hash(b"chunk one").as_bytes());
        let SnapshotResponse::Chunk(one) = ask(SnapshotRequest::Chunk {
            height: 20,
            index: 1,
        }) else {
            panic!("a chunk");
        };
        assert_eq!(one, b"chunk one");
        assert!(matches!(
            ask(SnapshotRequest::Chunk {
                height: 20,
                index: 2
            }),
            SnapshotResponse::Unavailable
        ));
        assert!(matches!(
            ask(SnapshotRequest::Chunk {
                height: 19,
                index: 0
            }),
            SnapshotResponse::Unavailable
        ));
        assert!(
            server.serve(peer(3), b"\xff\xff").is_err(),
            "junk is an error"
        );
    }
}
