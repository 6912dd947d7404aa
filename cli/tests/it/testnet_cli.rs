//! `jeon testnet` as an operator runs it: a node that exits on its own is reported,
//! and stopping the testnet never signals a child that was already reaped (its pid
//! may by then belong to an unrelated process).

use std::io::Read;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{free_port, get, jeon, wait_until};

/// A port `p` such that `p` and `p + 1` are both free and handed to no other test.
fn two_consecutive_ports() -> u16 {
    for _ in 0..1_000 {
        let a = free_port();
        if free_port() == a + 1 {
            return a;
        }
    }
    panic!("no two consecutive free ports");
}

#[cfg(unix)]
#[test]
fn a_node_that_exited_early_is_reported_never_signalled_at_stop_and_fails_the_run() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;

    let dir = tempfile::tempdir().expect("tempdir");
    let api = two_consecutive_ports();
    let p2p = two_consecutive_ports();
    // Node 1 cannot bind its API port: it exits at start, and the testnet reaps it.
    let _taken = std::net::TcpListener::bind(("127.0.0.1", api + 1)).expect("hold a port");
    let mut testnet = jeon()
        .args(["testnet", "--validators", "2", "--dir"])
        .arg(dir.path().join("net"))
        .args([
            "--api-port",
            &api.to_string(),
            "--p2p-port",
            &p2p.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jeon testnet");
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut pipe = testnet.stderr.take().expect("stderr");
    let sink = stderr.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            sink.lock().expect("stderr buffer").push_str(&text);
        }
    });
    let said = |what: &str| stderr.lock().expect("stderr buffer").contains(what);
    let node0 = format!("http://127.0.0.1:{api}");
    assert!(
        wait_until(Duration::from_secs(60), || said("node 1 exited")
            && get(&node0, "/v1/status").is_some()),
        "node 1 reported gone and node 0 serving; stderr: {}",
        stderr.lock().expect("stderr buffer")
    );

    let pid = i32::try_from(testnet.id()).expect("pid");
    kill(Pid::from_raw(pid), Signal::SIGTERM).expect("SIGTERM the testnet");
    let mut status = None;
    assert!(
        wait_until(Duration::from_secs(30), || {
            status = testnet.try_wait().expect("wait for the testnet");
            status.is_some()
        }),
        "the testnet stops within 30 s of SIGTERM"
    );
    reader.join().expect("stderr reader");
    let stderr = stderr.lock().expect("stderr buffer").clone();
    assert!(
        !stderr.contains("No such process"),
        "a reaped child was signalled: {stderr}"
    );
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(1),
        "a run in which a node died fails (exit 1): {stderr}"
    );
    assert!(
        stderr.contains("exited before the testnet was stopped"),
        "{stderr}"
    );
    assert!(get(&node0, "/v1/status").is_none(), "node 0 was stopped");
}
