//! The allocator's share of the node's resident memory.
//!
//! Measured under an unpaced flood (docs/storage.md §6): the live heap peaks near half
//! of the resident set; the rest is glibc malloc holding freed memory. glibc gives each
//! thread that contends for the heap its own arena (up to eight per core), a freed
//! chunk in the middle of an arena stays resident, and past its first large frees glibc
//! raises the size from which it maps allocations on their own (up to 32 MiB), so the
//! large, short-lived buffers of block decoding and encoding land in the arenas too.
//! Block decoding, execution and the mempool free and allocate hundreds of megabytes a
//! minute on several threads.
//!
//! glibc reads its tunables once, when the process starts, from `GLIBC_TUNABLES`; the
//! workspace forbids `unsafe` (so no `mallopt`). [`reexec_tuned`] therefore starts the
//! same program again, in the same process (`exec`, same PID, same arguments and
//! descriptors), with [`TUNABLES`] set: at most [`ARENAS_MAX`] arenas, and every
//! allocation from 128 KiB on mapped on its own and returned whole when freed.
//!
//! An operator who sets `GLIBC_TUNABLES` keeps theirs: the node then does not re-exec.

/// The most malloc arenas the node lets glibc create.
pub const ARENAS_MAX: u32 = 2;

/// Allocations of at least this many bytes are mapped on their own (and unmapped when
/// freed) instead of being carved from an arena.
pub const MMAP_THRESHOLD_BYTES: u32 = 128 << 10;

/// The environment variable glibc reads its tunables from.
pub const TUNABLES_VAR: &str = "GLIBC_TUNABLES";

/// The value the node runs with.
pub fn tunables() -> String {
    format!(
        "glibc.malloc.arena_max={ARENAS_MAX}:glibc.malloc.mmap_threshold={MMAP_THRESHOLD_BYTES}"
    )
}

/// Starts this program again with [`tunables`] in `GLIBC_TUNABLES`, unless it is set
/// already (by the operator, or by the re-exec itself) or the C library is not glibc.
/// Call it first thing in `main`, before any thread starts. Returns only if it did not
/// re-exec: `Ok(())` when nothing was to be done, the error if `exec` failed (the
/// caller goes on with the allocator as it is).
pub fn reexec_tuned() -> std::io::Result<()> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os(TUNABLES_VAR).is_some() {
            return Ok(());
        }
        let exe = std::env::current_exe()?;
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(exe);
        if let Some(arg0) = args.next() {
            command.arg0(arg0);
        }
        // `exec` returns only on failure.
        return Err(command.args(args).env(TUNABLES_VAR, tunables()).exec());
    }
    #[allow(unreachable_code)]
    Ok(())
}
