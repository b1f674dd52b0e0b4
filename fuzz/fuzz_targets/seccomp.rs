//! Arbitrary `linux.seccomp` sections (the input is the section's JSON) compiled
//! to BPF through `seccomp::prepare` (flags, listener, libseccomp compilation, size
//! check): Ok or a clear error, never a panic, a crash inside libseccomp, or a
//! leak (AddressSanitizer's leak check covers the libseccomp filter context).
//! The section is compiled whether or not the config's validation accepts it:
//! `prepare` must be safe on its own.
#![no_main]

use fastrun_runtime::seccomp::{self, EXEC_ALLOWANCE_LEN};
use fastrun_runtime::spec;
use fastrun_runtime::sys::seccomp::{FLAG_NEW_LISTENER, MAX_INSNS};
use libfuzzer_sys::fuzz_target;

const HEAD: &[u8] = br#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"cwd":"/","args":["sh"]},"linux":{"seccomp":"#;

fuzz_target!(|data: &[u8]| {
    let mut buf = Vec::with_capacity(HEAD.len() + data.len() + 2);
    buf.extend_from_slice(HEAD);
    buf.extend_from_slice(data);
    buf.extend_from_slice(b"}}");
    let Ok(config) = spec::parse(&mut buf) else {
        return;
    };
    let valid = config.validate().is_ok();
    let Some(s) = config.linux.as_ref().and_then(|l| l.seccomp.as_ref()) else {
        return;
    };
    let _ = seccomp::cache::key(s);
    match seccomp::prepare(s, None, true) {
        Ok(plan) => {
            assert!(!plan.program.is_empty());
            assert!(plan.program.len() + EXEC_ALLOWANCE_LEN <= MAX_INSNS);
            let notify = s.syscalls.iter().any(|c| c.action == "SCMP_ACT_NOTIFY");
            assert_eq!(plan.listener.is_some(), notify);
            assert_eq!(plan.flags & FLAG_NEW_LISTENER != 0, notify);
        }
        Err(e) => {
            // A refusal is a config error naming the section.
            assert!(
                e.to_string().contains("linux.seccomp"),
                "valid={valid}: {e}"
            );
        }
    }
});
