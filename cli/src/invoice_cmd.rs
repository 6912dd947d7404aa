//! `jeon invoice`: make merchant-signed payment links
//! (`jeon:pay?to=...&amount=500.00&asset=KRW&id=...&exp=...&sig=...`, readable before
//! decoding; see [`jeon_runtime::invoice`]), print them as QR codes, and read them
//! back. The first form, `jeon:pay?i=...&s=...`, is still read everywhere a link is.
//!
//! `invoice new` asks the node for the chain id (the link is signed for that chain only)
//! and the head height (for the expiry); the asset may be given by symbol. Nothing is
//! submitted: the payer submits the link with `jeon tx pay-invoice --link URI`. A
//! `--private-memo` is sealed to the merchant's own address
//! ([`jeon_runtime::memo::seal`]) with a fresh ephemeral secret from the operating
//! system, so only the merchant's key reads it, even once the link is paid on chain.
//!
//! `--qr` prints the link as a QR code after the link line (the first line stays the
//! bare link, for scripts). The code holds the same invoice in the compact first form
//! with its hex in upper case,
//! which a QR code's alphanumeric mode stores in 5.5 bits a character instead of 8
//! (`Invoice::from_uri` reads either case). Each character cell is two modules stacked
//! (`█ ▀ ▄` and space), with a 4-module quiet zone. Convention: **a drawn half-block is
//! a light module** and the terminal's background is a dark one, as `qrencode -t UTF8`
//! does. On a light-on-dark terminal the code has its normal colours; on a dark-on-light
//! one it shows inverted, which phone scanners also read.
//!
//! `invoice show` decodes a link offline; with the merchant's `--key` it opens a sealed
//! memo, and with `--api` it checks the signature for that node's chain.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use qrcode::{Color, QrCode};
use rand::rngs::OsRng;
use rand::RngCore;
use serde_json::json;

use jeon_runtime::invoice::{Invoice, Link, ReadableLink, MEMO_BYTES_MAX, URI_PREFIX};
use jeon_runtime::memo::{self, SEALED_MEMO_VERSION, SEALED_PLAINTEXT_MAX};
use jeon_runtime::{codec, Address, Height, Signature};

use crate::amount::AmountArg;
use crate::client::{ApiArgs, AssetRef, Client};
use crate::error::CliError;
use crate::output;
use crate::tx::load_key;

/// The quiet zone printed around a QR code, in modules (ISO/IEC 18004 asks for 4).
const QR_QUIET_ZONE_MODULES: usize = 4;

/// `jeon invoice ...`
#[derive(Debug, Subcommand)]
pub(crate) enum InvoiceCommand {
    /// Sign an invoice with the merchant's key and print its `jeon:` payment link.
    New(NewArgs),
    /// Decode a payment link and print its fields as JSON; open a sealed memo with the
    /// merchant's key; check the signature against a node's chain.
    ///
    /// Prints `{"merchant", "asset", "amount", "expires_at", "invoice_id", "memo",
    /// "memo_hex", "memo_sealed", "signature_valid"}`. `memo` is the memo as UTF-8
    /// text (a sealed memo opened with --key), or null; `memo_hex` is the memo's bytes
    /// as the link carries them; `signature_valid` is null unless --api is given.
    Show(ShowArgs),
}

/// `jeon invoice new`.
#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// The merchant's key file; the merchant receives the payment.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The asset to pay in, by id (`0`) or symbol (`KRW`).
    #[arg(long, value_name = "ID_OR_SYMBOL")]
    asset: AssetRef,
    /// To pay, tax included: raw units (₩500 = 50000) or a decimal amount (`₩500`).
    #[arg(long, value_name = "AMOUNT")]
    amount: AmountArg,
    /// The link may be paid up to this many blocks after the current head.
    #[arg(long, value_name = "N")]
    expires_in_blocks: Height,
    /// Your invoice id: each (merchant, id) is paid at most once.
    #[arg(long, value_name = "N")]
    id: u64,
    /// A public note (at most 256 bytes): in clear in the link and on chain once paid.
    #[arg(long, value_name = "TEXT", conflicts_with = "private_memo")]
    memo: Option<String>,
    /// A note only the merchant's key can read (at most 207 bytes): sealed to the
    /// merchant's address; read it back with `jeon invoice show LINK --key FILE`.
    #[arg(long, value_name = "TEXT")]
    private_memo: Option<String>,
    /// Also print the link as a QR code in the terminal, after the link line (drawn
    /// half-blocks are light modules: normal colours on a dark terminal).
    #[arg(long)]
    qr: bool,
    #[command(flatten)]
    api: ApiArgs,
}

/// `jeon invoice show`.
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The payment link (`jeon:pay?to=...`, or the first form `jeon:pay?i=...&s=...`).
    #[arg(value_name = "LINK", required_unless_present = "link_flag")]
    link: Option<String>,
    /// The payment link, as a flag (as `jeon tx pay-invoice --link` takes it).
    #[arg(long = "link", value_name = "URI", conflicts_with = "link")]
    link_flag: Option<String>,
    /// The merchant's key file, to open a sealed memo (fails if the key cannot).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// A node's API URL: check the merchant's signature for that node's chain
    /// (`http://HOST:PORT`; a bare `HOST:PORT` is taken as http). Without it nothing is
    /// fetched and `signature_valid` is null.
    #[arg(long, value_name = "URL", env = "JEON_API")]
    api: Option<String>,
}

/// Runs an `invoice` command.
pub(crate) fn run(command: InvoiceCommand) -> Result<(), CliError> {
    match command {
        InvoiceCommand::New(args) => new(args),
        InvoiceCommand::Show(args) => show(&args),
    }
}

fn new(args: NewArgs) -> Result<(), CliError> {
    if args.amount == AmountArg::Raw(0) {
        return Err(CliError::BadInput(
            "--amount must be greater than zero".into(),
        ));
    }
    args.amount
        .check_unit(&args.asset)
        .map_err(CliError::BadInput)?;
    check_memo_lengths(args.memo.as_deref(), args.private_memo.as_deref())?;
    let key = load_key(&args.key)?;
    let memo = match (args.memo, args.private_memo) {
        (_, Some(private)) => Some(seal_to(&key.address(), &private)?),
        (clear, None) => clear.map(String::into_bytes),
    };
    let client = Client::new(&args.api.api)?;
    let node = client.status()?;
    let expires_at = node
        .height
        .checked_add(args.expires_in_blocks)
        .ok_or_else(|| CliError::BadInput("--expires-in-blocks is too large".into()))?;
    let asset = client.asset(&args.asset)?;
    let amount = args
        .amount
        .units(asset.decimals, &asset.symbol)
        .map_err(CliError::BadInput)?;
    if amount == 0 {
        return Err(CliError::BadInput(
            "--amount must be greater than zero".into(),
        ));
    }
    let invoice = Invoice {
        merchant: key.address(),
        asset: asset.id,
        amount,
        expires_at,
        invoice_id: args.id,
        memo,
    };
    let signature = invoice.sign(&key, &node.chain_id);
    let link = invoice.to_link(&signature, &asset.symbol, asset.decimals);
    let mut out = format!("{link}\n");
    if args.qr {
        out.push_str(&qr_text(&qr_payload(&invoice, &signature))?);
    }
    let value = json!({
        "link": link,
        "link_encoded": invoice.to_uri(&signature),
        "expires_at": expires_at,
    });
    output::either(&out, &value)
}

/// Refuses memos that would not fit, before the key or the node is touched.
fn check_memo_lengths(clear: Option<&str>, private: Option<&str>) -> Result<(), CliError> {
    if let Some(m) = clear {
        if m.len() > MEMO_BYTES_MAX {
            return Err(CliError::BadInput(format!(
                "--memo is {} bytes; at most {MEMO_BYTES_MAX}",
                m.len()
            )));
        }
        // Such a clear memo would be mistaken for a sealed one.
        if m.as_bytes().first() == Some(&SEALED_MEMO_VERSION) {
            return Err(CliError::BadInput(
                "--memo must not start with the byte 0x01, which marks a sealed memo".into(),
            ));
        }
    }
    if let Some(m) = private.filter(|m| m.len() > SEALED_PLAINTEXT_MAX) {
        return Err(CliError::BadInput(format!(
            "--private-memo is {} bytes; at most {SEALED_PLAINTEXT_MAX} fit once sealed",
            m.len()
        )));
    }
    Ok(())
}

/// Seals `text` to `merchant` with a fresh ephemeral secret from the operating system.
fn seal_to(merchant: &Address, text: &str) -> Result<Vec<u8>, CliError> {
    let mut ephemeral = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut ephemeral)
        .map_err(|e| CliError::Failed(format!("cannot draw randomness to seal the memo: {e}")))?;
    memo::seal(merchant, ephemeral, text.as_bytes())
        .map_err(|e| CliError::BadInput(format!("--private-memo: {e}")))
}

/// The text the QR code holds: the link with upper-case hex (alphanumeric mode).
fn qr_payload(invoice: &Invoice, signature: &Signature) -> String {
    format!(
        "{URI_PREFIX}i={}&s={}",
        hex::encode_upper(codec::encode(invoice)),
        hex::encode_upper(signature.0)
    )
}

/// `text` as a QR code: one line per two module rows, a drawn half-block for each
/// light module (quiet zone included), a blank for each dark one.
fn qr_text(text: &str) -> Result<String, CliError> {
    let code = QrCode::new(text.as_bytes())
        .map_err(|e| CliError::Failed(format!("cannot make a QR code of the link: {e}")))?;
    let width = code.width();
    let colors = code.to_colors();
    let size = width + 2 * QR_QUIET_ZONE_MODULES;
    let light = |x: usize, y: usize| -> bool {
        let inside = |v: usize| (QR_QUIET_ZONE_MODULES..QR_QUIET_ZONE_MODULES + width).contains(&v);
        if !inside(x) || !inside(y) {
            return true;
        }
        let index = (y - QR_QUIET_ZONE_MODULES) * width + (x - QR_QUIET_ZONE_MODULES);
        colors.get(index) != Some(&Color::Dark)
    };
    let mut out = String::with_capacity((size + 1) * size.div_ceil(2) * 3);
    for y in (0..size).step_by(2) {
        for x in 0..size {
            // A QR code has an odd number of rows: the last line's lower half is blank.
            let below = y + 1 < size && light(x, y + 1);
            out.push(match (light(x, y), below) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
    }
    Ok(out)
}

/// Reads a payment link of either form into the invoice the merchant signed; a
/// readable link's asset is resolved with the node (`GET /v1/assets/{asset}`), which
/// must name the same symbol. `what` names the link in messages (`--link`).
pub(crate) fn read_link(
    client: &Client,
    text: &str,
    what: &str,
) -> Result<(Invoice, Signature), CliError> {
    match Link::parse(text).map_err(|e| CliError::BadInput(format!("{what}: {e}")))? {
        Link::Encoded(invoice, signature) => Ok((invoice, signature)),
        Link::Readable(link) => {
            let named: AssetRef = link.asset.parse().map_err(CliError::BadInput)?;
            let asset = client.asset(&named)?;
            let invoice = link
                .invoice(asset.id, asset.decimals)
                .map_err(|e| CliError::BadInput(format!("{what}: {e}")))?;
            Ok((invoice, link.signature))
        }
    }
}

fn show(args: &ShowArgs) -> Result<(), CliError> {
    let text = args
        .link
        .as_deref()
        .or(args.link_flag.as_deref())
        .ok_or_else(|| CliError::BadInput("give the payment link: LINK or --link URI".into()))?;
    let link = Link::parse(text).map_err(|e| CliError::BadInput(format!("LINK: {e}")))?;
    let client = args.api.as_deref().map(Client::new).transpose()?;
    // A readable link shows as written; with a node, as the invoice it resolves to.
    let (invoice, signature) = match (&link, &client) {
        (Link::Encoded(invoice, signature), _) => (invoice.clone(), *signature),
        (Link::Readable(_), Some(client)) => read_link(client, text, "LINK")?,
        (Link::Readable(r), None) => return show_readable(args, r),
    };
    let raw = invoice.memo.as_deref();
    let sealed = raw.is_some_and(memo::is_sealed);
    let readable = match (raw, &args.key) {
        (Some(m), Some(path)) if sealed => Some(open_memo(path, m)?),
        (Some(m), _) if !sealed => Some(m.to_vec()),
        _ => None,
    };
    let signature_valid = match &client {
        None => None,
        Some(client) => {
            let node = client.status()?;
            Some(invoice.verify(&node.chain_id, &signature).is_ok())
        }
    };
    let view = json!({
        "merchant": invoice.merchant,
        "asset": invoice.asset,
        "amount": invoice.amount,
        "expires_at": invoice.expires_at,
        "invoice_id": invoice.invoice_id,
        "memo": readable.and_then(|m| String::from_utf8(m).ok()),
        "memo_hex": raw.map(hex::encode),
        "memo_sealed": sealed,
        "signature_valid": signature_valid,
    });
    match &client {
        Some(client) => output::emit(&view, &output::Assets::fetch(client)),
        None => output::emit_plain(&view),
    }
}

/// A readable link's fields as written, without a node to resolve its asset.
fn show_readable(args: &ShowArgs, link: &ReadableLink) -> Result<(), CliError> {
    let raw = link.memo.as_deref();
    let sealed = raw.is_some_and(memo::is_sealed);
    let readable = match (raw, &args.key) {
        (Some(m), Some(path)) if sealed => Some(open_memo(path, m)?),
        (Some(m), _) if !sealed => Some(m.to_vec()),
        _ => None,
    };
    let view = json!({
        "merchant": link.merchant,
        "asset": link.asset,
        "amount": link.amount,
        "expires_at": link.expires_at,
        "invoice_id": link.invoice_id,
        "memo": readable.and_then(|m| String::from_utf8(m).ok()),
        "memo_hex": raw.map(hex::encode),
        "memo_sealed": sealed,
        "signature_valid": null,
    });
    output::emit_plain(&view)
}

/// Opens a sealed memo with the key in `path`; a key that cannot is bad input.
fn open_memo(path: &Path, sealed: &[u8]) -> Result<Vec<u8>, CliError> {
    let key = load_key(path)?;
    memo::open(&key, sealed).map_err(|e| {
        CliError::BadInput(format!(
            "--key {}: {e} (only the merchant's key opens a private memo; this key is {})",
            path.display(),
            key.address()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jeon_runtime::{AssetId, Keypair};

    #[test]
    fn the_qr_code_is_square_with_a_quiet_zone_and_upper_case_hex_makes_it_smaller() {
        let key = Keypair::from_seed_label("cafe");
        let invoice = Invoice {
            merchant: key.address(),
            asset: AssetId(0),
            amount: 50_000,
            expires_at: 100,
            invoice_id: 7,
            memo: Some(vec![b'x'; MEMO_BYTES_MAX]),
        };
        let signature = invoice.sign(&key, &jeon_runtime::Hash([1; 32]));
        let upper = qr_payload(&invoice, &signature);
        assert_eq!(
            Invoice::from_uri(&upper).map_err(|e| e.to_string()),
            Ok((invoice.clone(), signature))
        );
        let art = qr_text(&upper).map_err(|e| e.to_string()).expect("fits");
        let lines: Vec<&str> = art.lines().collect();
        let size = lines[0].chars().count();
        assert!(lines.iter().all(|l| l.chars().count() == size));
        assert_eq!(
            lines.len(),
            size.div_ceil(2),
            "square: two module rows a line"
        );
        assert!(lines[0].chars().all(|c| c == '█') && lines[1].chars().all(|c| c == '█'));
        let lower = invoice.to_uri(&signature);
        let lower_width = QrCode::new(lower.as_bytes()).expect("fits").width();
        assert!(
            size - 2 * QR_QUIET_ZONE_MODULES < lower_width,
            "{size} vs {lower_width}"
        );
    }
}
