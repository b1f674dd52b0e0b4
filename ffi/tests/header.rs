//! The committed C header must match what cbindgen generates from `ffi/src/lib.rs`.

#[test]
fn committed_header_is_fresh() {
    let fresh_path = env!("FASTRUN_FRESH_HEADER");
    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../include/fastrun.h");
    let fresh = std::fs::read_to_string(fresh_path)
        .unwrap_or_else(|e| panic!("read the generated header {fresh_path}: {e}"));
    let committed = std::fs::read_to_string(committed_path).unwrap_or_default();
    if fresh != committed {
        let line = fresh
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .map(|i| i + 1)
            .unwrap_or_else(|| fresh.lines().count().min(committed.lines().count()) + 1);
        panic!(
            "include/fastrun.h is out of date with ffi/src/lib.rs (first difference at line \
             {line}).\nRegenerate it with:\n\n    FASTRUN_UPDATE_HEADER=1 cargo build -p libfastrun\n\n\
             and commit the result. Fresh header: {fresh_path}"
        );
    }
}
