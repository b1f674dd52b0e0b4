//! Arbitrary bytes as a container's `state.json`, read back by the public
//! `state::Store::load`: a damaged record gives an error, never a panic. A record it
//! accepts survives a save/load round trip unchanged.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use fastrun_runtime::state::Store;
use libfuzzer_sys::fuzz_target;

/// One state root per fuzzing process, removed at exit.
fn root() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("fastrun-fuzz-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("c1")).unwrap();
        extern "C" fn cleanup() {
            if let Some(r) = ROOT.get() {
                let _ = std::fs::remove_dir_all(r);
            }
        }
        // SAFETY: registering a plain function to run at exit.
        unsafe { libc::atexit(cleanup) };
        root
    })
}

fuzz_target!(|data: &[u8]| {
    let root = root();
    std::fs::write(root.join("c1/state.json"), data).unwrap();
    let store = Store::new(root);
    let Ok(rec) = store.load("c1") else {
        return;
    };
    // What `load` accepted, saved under a valid id, reads back the same.
    if fastrun_runtime::state::validate_id(&rec.id).is_ok() {
        std::fs::create_dir_all(root.join(&rec.id)).unwrap();
        store.save(&rec).unwrap();
        assert_eq!(store.load(&rec.id).unwrap(), rec);
        if rec.id != "c1" {
            let _ = std::fs::remove_dir_all(root.join(&rec.id));
        }
    }
});
