//! Writes the committed seed corpus, `fuzz/seeds/<target>/`, from real encodings of the
//! dev chain in `jeon_fuzz::fixtures` (its genesis, block 1, its proofs, proposal,
//! votes and payment link). Deterministic: running it again rewrites the same bytes.
//!
//! `cargo +nightly run --manifest-path fuzz/Cargo.toml --example seeds`

use std::fs;
use std::path::{Path, PathBuf};

use jeon_fuzz::fixtures::{self, GENESIS_TIME_MS};
use jeon_fuzz::wire::{
    CompactProposal, ConsensusMsg, ProposalWanted, StatusMsg, SyncRequest, SyncResponse, TxBatch,
};
use jeon_genesis::{Preset, PresetKeys};
use jeon_runtime::{proof, Block, Header};

/// One seed: its target, file name and bytes.
struct Seed {
    target: &'static str,
    name: String,
    bytes: Vec<u8>,
}

fn seed(target: &'static str, name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Seed {
    Seed {
        target,
        name: name.into(),
        bytes: bytes.into(),
    }
}

/// A message behind the selector byte the wire targets read first.
fn tagged(tag: u8, message: Vec<u8>) -> Vec<u8> {
    [vec![tag], message].concat()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let chain = fixtures::dev_chain();
    let mut seeds = Vec::new();
    let block = &chain.block.block;
    let calls = [
        "transfer",
        "pay",
        "create-asset",
        "sponsor-fees",
        "pay-invoice",
        "cosigned-transfer",
        "grant-mandate",
        "open-credit-line",
        "redeem",
        "unknown-asset",
    ];
    assert_eq!(
        calls.len(),
        block.txs.len(),
        "one name per fixture transaction"
    );
    for (name, tx) in calls.iter().zip(&block.txs) {
        seeds.push(seed("tx", *name, tx.encode()));
    }

    seeds.push(seed("block", "block-1", block.encode()));
    let empty = Block {
        header: Header {
            height: 2,
            prev_hash: block.header.hash(),
            ..block.header.clone()
        },
        txs: Vec::new(),
    };
    seeds.push(seed("block", "empty", empty.encode()));

    for i in [0u32, 4, 9] {
        let p = proof::build(&chain.block, &chain.receipts, i)?;
        proof::verify(&p, &chain.chain_id, &chain.validators)?;
        seeds.push(seed("proof", format!("tx-{i}"), p.encode()));
        seeds.push(seed(
            "proof",
            format!("tx-{i}.json"),
            serde_json::to_vec(&p)?,
        ));
    }

    let consensus = [
        (
            "proposal",
            ConsensusMsg::Proposal(Box::new(chain.proposal.clone())),
        ),
        (
            "compact-proposal",
            ConsensusMsg::CompactProposal(Box::new(CompactProposal {
                body: chain.proposal.body,
                header: chain.proposal.block.header.clone(),
                txs: chain.proposal.block.txs.iter().map(|t| t.hash()).collect(),
                signature: chain.proposal.signature,
            })),
        ),
        (
            "proposal-wanted",
            ConsensusMsg::ProposalWanted(ProposalWanted {
                height: 1,
                round: 0,
                block: block.header.hash(),
            }),
        ),
        ("prevote", ConsensusMsg::Vote(chain.votes[0].clone())),
        ("precommit", ConsensusMsg::Vote(chain.votes[1].clone())),
        ("nil-prevote", ConsensusMsg::Vote(chain.votes[2].clone())),
        (
            "status",
            ConsensusMsg::Status(StatusMsg {
                height: 1,
                block_hash: block.header.hash(),
            }),
        ),
    ];
    for (name, msg) in consensus {
        seeds.push(seed("wire_gossip", name, tagged(0, msg.encode())));
    }
    let batch = TxBatch {
        txs: block.txs.clone(),
    };
    seeds.push(seed("wire_gossip", "tx-batch", tagged(1, batch.encode())));
    let request = SyncRequest { from: 1, count: 32 };
    seeds.push(seed("wire_sync", "request", tagged(0, request.encode())));
    let response = SyncResponse {
        head: 1,
        blocks: vec![chain.block.clone()],
    };
    seeds.push(seed("wire_sync", "response", tagged(1, response.encode())));
    let nothing = SyncResponse {
        head: 0,
        blocks: Vec::new(),
    };
    seeds.push(seed(
        "wire_sync",
        "empty-response",
        tagged(1, nothing.encode()),
    ));

    seeds.push(seed("genesis", "dev.json", chain.spec.to_json()?));
    let keys = PresetKeys::from_seed_labels(&Preset::LOCAL4.key_names());
    let local4 = Preset::LOCAL4.spec(&keys, GENESIS_TIME_MS)?;
    seeds.push(seed("genesis", "local4.json", local4.to_json()?));

    let [memo_link, plain_link] = &chain.links[..] else {
        return Err("two fixture links".into());
    };
    seeds.push(seed("payment_link", "cafe-invoice", memo_link.clone()));
    seeds.push(seed("payment_link", "no-memo", plain_link.clone()));
    // Hex in either case reads the same (a QR code holds upper-case hex compactly).
    let (head, params) = memo_link.split_at("jeon:pay?".len());
    let upper = format!(
        "{head}{}",
        params
            .to_uppercase()
            .replace("I=", "i=")
            .replace("&S=", "&s=")
    );
    seeds.push(seed("payment_link", "upper-case", upper));

    let [memo_readable, plain_readable] = &chain.readable_links[..] else {
        return Err("two fixture readable links".into());
    };
    seeds.push(seed("readable_link", "cafe-invoice", memo_readable.clone()));
    seeds.push(seed("readable_link", "no-memo", plain_readable.clone()));
    // The same link with its parameters in another order, the asset by id, a clear
    // memo with escapes, and the encoded form (which `Link::parse` also reads).
    let reordered = plain_readable
        .strip_prefix("jeon:pay?")
        .map(|q| {
            let mut params: Vec<&str> = q.split('&').collect();
            params.reverse();
            format!("jeon:pay?{}", params.join("&"))
        })
        .ok_or("a readable link starts with jeon:pay?")?;
    seeds.push(seed("readable_link", "reordered", reordered));
    seeds.push(seed(
        "readable_link",
        "asset-id-clear-memo",
        plain_readable
            .replace("&asset=KRW", "&asset=0")
            .replace("&sig=", "&memo=table%204%2Fwindow&sig="),
    ));
    seeds.push(seed("readable_link", "encoded-form", plain_link.clone()));

    let hexes: Vec<String> = block.txs.iter().map(|t| hex::encode(t.encode())).collect();
    let submit = serde_json::json!({ "tx": hexes[0] });
    seeds.push(seed(
        "api_body",
        "submit.json",
        serde_json::to_vec(&submit)?,
    ));
    let batch = serde_json::json!({ "txs": &hexes[..3] });
    seeds.push(seed("api_body", "batch.json", serde_json::to_vec(&batch)?));
    seeds.push(seed(
        "api_body",
        "address",
        block.txs[0].body.sender.to_string(),
    ));
    seeds.push(seed("api_body", "hash", block.header.hash().to_string()));

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    write(&root, &seeds)
}

/// Replaces each target's seed directory with exactly these seeds.
fn write(root: &Path, seeds: &[Seed]) -> Result<(), Box<dyn std::error::Error>> {
    let mut targets: Vec<&str> = seeds.iter().map(|s| s.target).collect();
    targets.dedup();
    for target in targets {
        let dir: PathBuf = root.join(target);
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
    }
    for s in seeds {
        fs::write(root.join(s.target).join(&s.name), &s.bytes)?;
    }
    println!("wrote {} seeds under {}", seeds.len(), root.display());
    Ok(())
}
