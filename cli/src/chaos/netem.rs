//! Whether the kernel could emulate the links (network namespaces and `tc netem`), and
//! why the harness's proxy does it instead.
//!
//! The namespace runner (each validator in its own namespace, veth pairs to a bridge
//! namespace, `tc netem` on each veth) is not built: the machine this harness was
//! written on has no `sch_netem` module, so it could not be tested. The probe below
//! runs on every run with link emulation and says which path is taken, and why.

use std::process::{Command, Stdio};

/// Where the links are emulated, and why: the line the harness logs and reports.
pub(crate) fn backend() -> String {
    match probe() {
        Err(why) => format!("{why}: link emulation runs in the harness proxy"),
        Ok(()) => "the kernel has sch_netem, but the namespace runner is not built \
                   (docs/reliability.md §10): link emulation runs in the harness proxy"
            .to_owned(),
    }
}

/// Whether this process may create a network namespace and add a netem qdisc in it:
/// root, `ip` and `tc` present, and the kernel's `sch_netem`. Tries in a scratch
/// namespace of its own, which it deletes.
pub(crate) fn probe() -> Result<(), String> {
    if !is_root() {
        return Err("not root (network namespaces need it)".to_owned());
    }
    let ns = format!("jeon-chaos-probe-{}", std::process::id());
    run(&["ip", "netns", "add", &ns])
        .map_err(|e| format!("cannot create a network namespace ({e})"))?;
    let netem = run(&[
        "ip", "netns", "exec", &ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay",
        "1ms",
    ]);
    let _ = run(&["ip", "netns", "delete", &ns]);
    netem.map_err(|e| {
        if e.contains("unknown") {
            "kernel has no sch_netem".to_owned()
        } else {
            format!("tc netem failed ({e})")
        }
    })
}

/// Whether the effective user is root (Linux: /proc/self/status).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2))
            == Some("0")
    })
}

/// Runs a command; its stderr (trimmed) when it fails.
fn run(args: &[&str]) -> Result<(), String> {
    let (cmd, rest) = args.split_first().ok_or("no command")?;
    let out = Command::new(cmd)
        .args(rest)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("`{cmd}`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_names_why_the_proxy_emulates_and_leaves_no_namespace_behind() {
        let line = backend();
        assert!(
            line.ends_with("link emulation runs in the harness proxy"),
            "{line}"
        );
        if is_root() {
            let left = Command::new("ip").args(["netns", "list"]).output();
            if let Ok(out) = left {
                let list = String::from_utf8_lossy(&out.stdout);
                let mine = format!("jeon-chaos-probe-{}", std::process::id());
                assert!(!list.contains(&mine), "{list}");
            }
        } else {
            assert!(line.starts_with("not root"), "{line}");
        }
    }
}
