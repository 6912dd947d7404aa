//! Payment links through the real `jeon` binary on `jeon dev`: a private memo sealed to
//! the cafe is read only with the cafe's key (alice's key is refused, no key shows
//! nothing) and the link still pays; `--qr` prints a QR code that decodes back to the
//! link; `--memo` and `--private-memo` together are refused.

use std::process::Output;

use crate::common::{has_event, run, DevNode, Town};
use jeon_runtime::invoice::{Invoice, Link};
use qrcode::{Color, QrCode};
use serde_json::Value;

const ORDER: &str = "order 42 for table 7";
/// The quiet zone `jeon invoice new --qr` prints, in modules.
const QUIET_ZONE_MODULES: usize = 4;

fn dev_town() -> (tempfile::TempDir, Town) {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("dev"), &[]);
    (dir, Town { node })
}

/// `jeon invoice new` for the cafe, ₩500, with `extra` flags.
fn new_invoice(town: &Town, id: &str, extra: &[&str]) -> Output {
    let cafe_key = town.key("dalbit-cafe");
    let mut args = vec![
        "invoice",
        "new",
        "--key",
        &cafe_key,
        "--asset",
        "KRW",
        "--amount",
        "50000",
        "--expires-in-blocks",
        "100",
        "--id",
        id,
        "--output",
        "text",
        "--api",
        &town.node.api,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn stdout_text(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// `jeon invoice show LINK [args]`, parsed.
fn show(link: &str, args: &[&str]) -> Value {
    let mut all = vec!["invoice", "show", link];
    all.extend_from_slice(args);
    serde_json::from_str(&stdout_text(&run(&all))).expect("invoice show prints JSON")
}

#[test]
fn a_private_memo_is_read_only_with_the_merchants_key_and_the_link_still_pays() {
    let (_dir, town) = dev_town();
    let made = stdout_text(&new_invoice(&town, "42", &["--private-memo", ORDER]));
    let link = made.lines().next().unwrap().to_owned();
    assert!(link.starts_with("jeon:pay?to="), "{link}");
    assert!(
        link.contains("&amount=500.00&asset=KRW&id=42&"),
        "readable: {link}"
    );
    assert!(!link.contains(ORDER) && !link.contains(&hex::encode(ORDER)));
    let cafe_key = town.key("dalbit-cafe");

    let opened = show(&link, &["--key", &cafe_key, "--api", &town.node.api]);
    assert_eq!(opened["memo"], ORDER, "{opened}");
    assert_eq!(opened["memo_sealed"], true);
    assert_eq!(opened["signature_valid"], true);
    assert_eq!(opened["merchant"], town.address("dalbit-cafe"));
    assert_eq!(
        (opened["amount"].as_u64(), opened["invoice_id"].as_u64()),
        (Some(50_000), Some(42))
    );

    let alice_key = town.key("alice");
    let refused = run(&["invoice", "show", &link, "--key", &alice_key]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("wrong key or altered memo"), "{stderr}");
    assert!(stderr.contains(&town.address("alice")), "{stderr}");

    let sealed = show(&link, &[]);
    assert_eq!(sealed["memo"], Value::Null, "{sealed}");
    assert_eq!(sealed["memo_sealed"], true);
    assert_eq!(sealed["signature_valid"], Value::Null);
    let memo_hex = sealed["memo_hex"].as_str().unwrap();
    assert!(memo_hex.starts_with("01"), "the version byte: {memo_hex}");
    assert_eq!(memo_hex.len(), 2 * (ORDER.len() + 49));

    // The chain carries the sealed bytes like any memo: the link pays as usual.
    let paid = town.tx("alice", &["pay-invoice", "--link", &link]);
    assert!(has_event(&paid, "invoice_paid"), "{paid}");
    assert!(!paid.to_string().contains(ORDER));

    // A clear memo shows as text without a key, and is not taken for a sealed one.
    let clear = stdout_text(&new_invoice(&town, "43", &["--memo", "table 4"]));
    let clear = show(clear.trim(), &["--key", &alice_key]);
    assert_eq!(
        (&clear["memo"], &clear["memo_sealed"]),
        (&Value::from("table 4"), &Value::from(false))
    );
}

#[test]
fn the_qr_code_printed_after_the_link_decodes_to_the_link() {
    let (_dir, town) = dev_town();
    let printed = stdout_text(&new_invoice(&town, "7", &["--memo", "table 4", "--qr"]));
    let mut lines = printed.lines();
    let link = lines.next().unwrap();
    assert!(
        link.starts_with("jeon:pay?to="),
        "the first line is the bare (readable) link"
    );
    let modules = module_grid(&lines.collect::<Vec<_>>());

    // The code holds the same invoice and signature in the compact first form, with
    // upper-case hex (alphanumeric mode).
    let payload = decode_qr(&modules);
    assert!(payload.starts_with("jeon:pay?i="), "{payload}");
    let Ok(Link::Readable(readable)) = Link::parse(link) else {
        panic!("a readable link: {link}");
    };
    let resolved = readable.invoice(jeon_runtime::AssetId(0), 2).unwrap();
    assert_eq!(
        Invoice::from_uri(&payload).unwrap(),
        (resolved, readable.signature)
    );
    let (i, s) = payload["jeon:pay?i=".len()..].split_once("&s=").unwrap();
    assert_eq!(
        (i.to_uppercase(), s.to_uppercase()),
        (i.to_owned(), s.to_owned())
    );
    // Module for module, the code the qrcode crate makes of that text.
    let code = QrCode::new(payload.as_bytes()).unwrap();
    let width = code.width();
    assert_eq!(modules.len(), width + 2 * QUIET_ZONE_MODULES);
    for (index, color) in code.to_colors().iter().enumerate() {
        let (x, y) = (index % width, index / width);
        let light = modules[y + QUIET_ZONE_MODULES][x + QUIET_ZONE_MODULES];
        assert_eq!(light, *color == Color::Light, "module ({x}, {y})");
    }
}

/// The printed half-block lines back to a square grid of modules, `true` = light (a
/// drawn half-block): checks the shape and the 4-module light quiet zone.
fn module_grid(lines: &[&str]) -> Vec<Vec<bool>> {
    let mut rows: Vec<Vec<bool>> = Vec::new();
    for line in lines {
        let cells: Vec<(bool, bool)> = line
            .chars()
            .map(|c| match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                ' ' => (false, false),
                other => panic!("unexpected character {other:?} in the QR code"),
            })
            .collect();
        rows.push(cells.iter().map(|c| c.0).collect());
        rows.push(cells.iter().map(|c| c.1).collect());
    }
    let size = rows[0].len();
    assert_eq!(size % 2, 1, "a QR code with its quiet zone is an odd size");
    assert_eq!(rows.len(), size + 1, "two module rows a line, square");
    let spare = rows.pop().unwrap();
    assert!(
        spare.iter().all(|m| !m),
        "the last line's lower half is blank"
    );
    for (y, row) in rows.iter().enumerate() {
        assert_eq!(row.len(), size, "row {y}");
        for (x, light) in row.iter().enumerate() {
            let quiet = |v: usize| v < QUIET_ZONE_MODULES || v >= size - QUIET_ZONE_MODULES;
            if quiet(x) || quiet(y) {
                assert!(light, "quiet zone module ({x}, {y}) is dark");
            }
        }
    }
    rows
}

/// Decodes a module grid with a QR reader, as a camera would see it: each module a
/// 4x4 block of pixels, light modules white.
fn decode_qr(modules: &[Vec<bool>]) -> String {
    const PIXELS_PER_MODULE: usize = 4;
    let side = modules.len() * PIXELS_PER_MODULE;
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| {
        if modules[y / PIXELS_PER_MODULE][x / PIXELS_PER_MODULE] {
            255
        } else {
            0
        }
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the picture");
    grids[0].decode().unwrap().1
}

#[test]
fn a_memo_and_a_private_memo_together_are_refused() {
    let out = run(&[
        "invoice",
        "new",
        "--key",
        "unused.json",
        "--asset",
        "KRW",
        "--amount",
        "1",
        "--expires-in-blocks",
        "1",
        "--id",
        "1",
        "--memo",
        "table 4",
        "--private-memo",
        ORDER,
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--memo") && stderr.contains("--private-memo"),
        "{stderr}"
    );
}

#[test]
fn a_private_memo_too_long_to_seal_is_refused_before_any_network_call() {
    let long = "x".repeat(208);
    let out = run(&[
        "invoice",
        "new",
        "--key",
        "unused.json",
        "--asset",
        "KRW",
        "--amount",
        "1",
        "--expires-in-blocks",
        "1",
        "--id",
        "1",
        "--private-memo",
        &long,
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at most 207"), "{stderr}");
}
