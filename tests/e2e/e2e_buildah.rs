//! fastrun under the real buildah (Debian's 1.28): `buildah run` and `buildah bud`
//! with `--runtime <fastrun>`, private storage and state (see `tests/e2e/buildah.rs`).
//! Each test ends with [`Buildah::finish`]: no fastrun state, cgroup, process or
//! mount may be left.

use crate::e2e;

use e2e::buildah::Buildah;
use e2e::*;

/// `from` a local archive; `run`: output and exit code, `--user`, `--workingdir`
/// and the container's configured user and workdir, `-t` (a real pty).
#[test]
fn buildah_from_archive_run() {
    let b = Buildah::new();
    b.busybox_container("w1").assert_success();
    let o = b.run(&[], "w1", &["sh", "-c", "echo hello; id -u; pwd; exit 3"]);
    assert_eq!(o.status, Some(3), "{o}");
    assert_eq!(o.stdout, "hello\n0\n/\n", "{o}");
    assert!(o.stderr.contains("exit status 3"), "{o}");
    let o = b.run(
        &["--user", "1000:1000", "--workingdir", "/tmp"],
        "w1",
        &["sh", "-c", "id -u; id -g; pwd"],
    );
    o.assert_success();
    assert_eq!(o.stdout, "1000\n1000\n/tmp\n", "{o}");
    b.buildah(&["config", "--user", "1000", "--workingdir", "/tmp", "w1"])
        .assert_success();
    let o = b.run(&[], "w1", &["sh", "-c", "id -u; pwd"]);
    assert_eq!(o.stdout, "1000\n/tmp\n", "{o}");
    let o = b.run_tty("w1", &["sh", "-c", "tty; test -t 0 && echo stdin-tty"]);
    o.assert_success();
    let out = o.stdout.replace('\r', "");
    assert!(out.contains("/dev/pts/0\nstdin-tty\n"), "{o}");
    // Nothing of the runs is left while the working container stays.
    assert!(state_ids(&b.fastrun_root()).is_empty());
    b.finish();
}

/// `run -v SRC:DST` without options: buildah sends `["", "rw", "private", "rbind"]`.
#[test]
fn buildah_run_volume_without_options() {
    let b = Buildah::new();
    let src = b.dir().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), "from the host\n").unwrap();
    b.busybox_container("w1").assert_success();
    let v = format!("{}:/mnt", src.display());
    let o = b.run(
        &["-v", &v],
        "w1",
        &["sh", "-c", "cat /mnt/f; echo back > /mnt/g"],
    );
    o.assert_success();
    assert_eq!(o.stdout, "from the host\n", "{o}");
    assert_eq!(std::fs::read_to_string(src.join("g")).unwrap(), "back\n");
    b.finish();
}

/// The image built by `bud`: its files, user and workdir, read by a `run` of it.
fn check_built(b: &Buildah, tag: &str, want: &str) {
    let o = b.buildah(&[
        "from",
        "--quiet",
        "--cgroup-parent",
        &b.cgroup_parent,
        "--name",
        "check",
        tag,
    ]);
    o.assert_success();
    let o = b.run(
        &[],
        "check",
        &["sh", "-c", "cat /built uid cwd; id -u; pwd"],
    );
    o.assert_success();
    assert_eq!(o.stdout, want, "{o}");
}

/// `bud` of a Containerfile with RUN, USER and WORKDIR.
#[test]
fn buildah_bud_run_user_workdir() {
    let b = Buildah::new();
    let ctx = b.dir().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    let file = ctx.join("Containerfile");
    std::fs::write(
        &file,
        format!(
            "FROM oci-archive:{}\n\
             RUN echo built > /built && id -u >> /built\n\
             RUN mkdir /tmp/app && chown 1000:1000 /tmp/app\n\
             USER 1000:1000\n\
             WORKDIR /tmp/app\n\
             RUN id -u > uid && pwd > cwd\n",
            images().busybox.display()
        ),
    )
    .unwrap();
    b.bud(&file, "localhost/built:latest", &ctx)
        .assert_success();
    assert!(b.fastrun_root().is_dir(), "the RUN steps ran with fastrun");
    check_built(
        &b,
        "localhost/built:latest",
        "built\n0\n1000\n/tmp/app\n1000\n/tmp/app\n",
    );
    b.finish();
}

/// `bud` with `RUN --mount=type=bind` (a bind of the build context).
#[test]
fn buildah_bud_run_mount_bind() {
    let b = Buildah::new();
    let ctx = b.dir().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("input"), "from the context\n").unwrap();
    let file = ctx.join("Containerfile");
    std::fs::write(
        &file,
        format!(
            "FROM oci-archive:{}\n\
             RUN --mount=type=bind,source=input,target=/mnt/input cat /mnt/input > /built\n\
             RUN echo x > uid && echo y > cwd\n",
            images().busybox.display()
        ),
    )
    .unwrap();
    b.bud(&file, "localhost/mounted:latest", &ctx)
        .assert_success();
    check_built(
        &b,
        "localhost/mounted:latest",
        "from the context\nx\ny\n0\n/\n",
    );
    b.finish();
}
