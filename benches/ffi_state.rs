//! libfastrun: what one call costs with many running containers. `state` of one
//! container through the C ABI, with 0 and then N other containers running that the
//! same context started (and owns): a call must not depend on how many there are
//! (issue #19: it used to read /proc/PID/stat of every tracked init on each call).
//!
//! Run as root: `cargo bench --bench ffi_state` (FASTRUN_BENCH_RUNNING=N, default 200;
//! FASTRUN_BENCH_CALLS, default 2000). Needs /bin/busybox. Prints the median and
//! the mean per call for 0 running, N running, and 0 again once they are deleted (the
//! load of a shared machine drifts: a baseline on both sides), and the ratio of the
//! median with N running to the mean of the two baselines' medians.

use std::ffi::{c_char, CString};
use std::path::Path;
use std::ptr;
use std::time::{Duration, Instant};

use fastrun::*;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn check(what: &str, r: i32, err: *mut fastrun_error) {
    if r < 0 {
        // SAFETY: a failed call stored a valid error (or left NULL).
        let msg = unsafe {
            if err.is_null() {
                String::new()
            } else {
                let m = std::ffi::CStr::from_ptr((*err).message)
                    .to_string_lossy()
                    .into_owned();
                fastrun_error_free(err);
                m
            }
        };
        panic!("{what}: {r}: {msg}");
    }
}

/// A bundle whose process sleeps, with a busybox rootfs.
fn make_bundle(dir: &Path) -> Vec<u8> {
    let rootfs = dir.join("rootfs");
    for d in ["bin", "proc", "sys", "dev", "tmp", "etc"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).expect("needs /bin/busybox");
    for a in ["sh", "sleep"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(a)).unwrap();
    }
    let mut spec: serde_json::Value =
        serde_json::from_str(&fastrun_runtime_default_spec()).unwrap();
    spec["root"]["path"] = "rootfs".into();
    spec["process"]["terminal"] = false.into();
    spec["process"]["args"] = serde_json::json!(["sleep", "3600"]);
    serde_json::to_vec(&spec).unwrap()
}

fn fastrun_runtime_default_spec() -> String {
    let mut json = ptr::null_mut();
    let mut err = ptr::null_mut();
    // SAFETY: valid out-pointers.
    let n = unsafe { fastrun_spec(0, &mut json, &mut err) };
    check("spec", n, err);
    // SAFETY: a string libfastrun returned, freed once.
    unsafe {
        let s = std::ffi::CStr::from_ptr(json)
            .to_string_lossy()
            .into_owned();
        fastrun_string_free(json);
        s
    }
}

/// `calls` state calls of `id`: (median, mean).
fn time_state(ctx: *mut fastrun_context, id: &CString, calls: usize) -> (Duration, Duration) {
    let mut buf = vec![0 as c_char; 4096];
    let mut times = Vec::with_capacity(calls);
    for _ in 0..calls {
        let mut err = ptr::null_mut();
        let t = Instant::now();
        // SAFETY: live context, valid strings and buffer.
        let r = unsafe {
            fastrun_container_state(
                ctx,
                id.as_ptr(),
                buf.as_mut_ptr(),
                buf.len(),
                ptr::null_mut(),
                &mut err,
            )
        };
        times.push(t.elapsed());
        check("state", r, err);
    }
    let mean = times.iter().sum::<Duration>() / calls as u32;
    times.sort();
    (times[calls / 2], mean)
}

fn main() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("ffi_state: needs root; skipped");
        return;
    }
    let running = env_usize("FASTRUN_BENCH_RUNNING", 200);
    let calls = env_usize("FASTRUN_BENCH_CALLS", 2000);
    let base = std::env::temp_dir().join(format!("fastrun-bench-ffi-{}", std::process::id()));
    let bundle = base.join("bundle");
    let root = base.join("root");
    std::fs::create_dir_all(&bundle).unwrap();
    let config = make_bundle(&bundle);

    let croot = CString::new(root.to_str().unwrap()).unwrap();
    let cbundle = CString::new(bundle.to_str().unwrap()).unwrap();
    // SAFETY: all-zero is a valid options struct.
    let mut o: fastrun_context_options = unsafe { std::mem::zeroed() };
    o.struct_size = std::mem::size_of::<fastrun_context_options>();
    o.root = croot.as_ptr();
    let mut ctx = ptr::null_mut();
    let mut c = ptr::null_mut();
    let mut err = ptr::null_mut();
    // SAFETY: valid options and out-pointers; the config buffer outlives the call.
    unsafe {
        check("context", fastrun_context_new(&o, &mut ctx, &mut err), err);
        check(
            "load",
            fastrun_container_load_from_memory(
                config.as_ptr().cast(),
                config.len(),
                cbundle.as_ptr(),
                &mut c,
                &mut err,
            ),
            err,
        );
    }
    // SAFETY: all-zero, then the size: a valid create options struct.
    let mut co: fastrun_create_options = unsafe { std::mem::zeroed() };
    co.struct_size = std::mem::size_of::<fastrun_create_options>();
    co.detach = 1;
    let run = |id: &CString| {
        let mut err = ptr::null_mut();
        // SAFETY: live handles, valid strings and options.
        let r = unsafe { fastrun_container_run(ctx, c, id.as_ptr(), &co, &mut err) };
        check("run", r, err);
    };
    // Ids (and so cgroups) of this run only: other benchmarks or tests may run.
    let tag = format!("ffibench{}", std::process::id());
    let probe = CString::new(format!("{tag}-probe")).unwrap();
    run(&probe);
    let (med0, mean0) = time_state(ctx, &probe, calls);

    let ids: Vec<CString> = (0..running)
        .map(|i| CString::new(format!("{tag}-other-{i}")).unwrap())
        .collect();
    let t = Instant::now();
    for id in &ids {
        run(id);
    }
    eprintln!("started {running} containers in {:.1?}", t.elapsed());
    let (med_n, mean_n) = time_state(ctx, &probe, calls);

    let delete = |id: &CString| {
        let mut err = ptr::null_mut();
        // SAFETY: live context, valid id.
        let r = unsafe { fastrun_container_delete(ctx, id.as_ptr(), 1, &mut err) };
        check("delete", r, err);
    };
    for id in &ids {
        delete(id);
    }
    // 0 running again: on a shared machine the load drifts between the two
    // measurements; a baseline on both sides shows how much.
    let (med_after, mean_after) = time_state(ctx, &probe, calls);
    delete(&probe);

    println!("state() through libfastrun, {calls} calls each:");
    println!("  0 other containers running:   median {med0:>9.1?}, mean {mean0:>9.1?}");
    println!("  {running} other containers running: median {med_n:>9.1?}, mean {mean_n:>9.1?}");
    println!("  0 again (after deleting them): median {med_after:>9.1?}, mean {mean_after:>9.1?}");
    let baseline = (med0.as_secs_f64() + med_after.as_secs_f64()) / 2.0;
    println!(
        "  ratio (median, {running} running / mean of the two baselines): {:.2}x",
        med_n.as_secs_f64() / baseline
    );
    // SAFETY: handles freed once.
    unsafe {
        fastrun_container_free(c);
        fastrun_context_free(ctx);
    }
    let _ = std::fs::remove_dir_all(&base);
}
