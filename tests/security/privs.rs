//! Capabilities and privileges of the default spec (`fastrun spec`): no module
//! loading, no mount, no ptrace of what is not the container's, no writes to
//! host-global sysctls, and no privilege gained from file capabilities or setuid
//! binaries under `noNewPrivileges`.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use super::*;

const CAP_SYS_MODULE: u32 = 16;
const CAP_SYS_RAWIO: u32 = 17;
const CAP_SYS_PTRACE: u32 = 19;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_KILL: u32 = 5;

/// runc's default set: CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE.
const DEFAULT_CAPS: u64 = 1 << 5 | 1 << 10 | 1 << 29;

#[test]
fn default_spec_root_cannot_load_modules_mount_or_touch_host_sysctls() {
    let root = StateRoot::new();
    let core_pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    let script = "grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status; \
        echo '|/tmp/evil' > /proc/sys/kernel/core_pattern && echo WROTE-core_pattern; \
        echo 3 > /proc/sys/vm/drop_caches && echo WROTE-drop_caches; \
        echo /tmp/evil > /proc/sys/kernel/modprobe && echo WROTE-modprobe; \
        echo 1 > /proc/sysrq-trigger && echo WROTE-sysrq; \
        mount -t tmpfs none /tmp && echo MOUNTED-tmpfs; \
        mount -t proc proc /tmp && echo MOUNTED-proc; \
        mount -o remount,rw /proc/sys && echo REMOUNTED; \
        mount --bind /proc/kcore /tmp 2>/dev/null && echo MOUNTED-bind; \
        cat /dev/mem > /dev/null 2>&1 && echo READ-mem; \
        cat /dev/kmsg > /dev/null 2>&1 && echo READ-kmsg; \
        echo end";
    let b = Bundle::new("privs-default")
        .args(&["sh", "-c", script])
        .modify(|v| v["root"]["readonly"] = false.into());
    let c = Container::new(&root, &b);
    let o = c.run();
    o.assert_success();
    for bad in ["WROTE", "MOUNTED", "REMOUNTED", "READ-mem", "READ-kmsg"] {
        assert!(!o.stdout.contains(bad), "{bad}: {o}");
    }
    let bnd = cap_field(&o.stdout, "CapBnd:");
    for cap in [CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_PTRACE, CAP_SYS_ADMIN] {
        assert_eq!(bnd & 1 << cap, 0, "cap {cap} in the bounding set: {o}");
    }
    assert_eq!(cap_field(&o.stdout, "CapEff:"), DEFAULT_CAPS, "{o}");
    assert_eq!(cap_field(&o.stdout, "CapAmb:"), 0, "{o}");
    assert!(o.stdout.contains("NoNewPrivs:\t1"), "{o}");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap(),
        core_pattern
    );
    c.assert_no_leftovers();
}

/// A process of the container that is not root cannot read the memory or the
/// environment of the (root) init, and root cannot ptrace-read beyond the container.
#[test]
fn no_ptrace_access_to_other_users_processes() {
    let root = StateRoot::new();
    let b = Bundle::new("privs-ptrace").args(&["sleep", "600"]);
    let c = Container::new(&root, &b);
    c.create().assert_success();
    c.start().assert_success();
    let o = root.fastrun(&[
        "exec",
        "--user",
        "1000:1000",
        c.id(),
        "sh",
        "-c",
        "cat /proc/1/environ >/dev/null 2>&1 && echo READ-environ; \
         head -c 1 /proc/1/mem >/dev/null 2>&1 && echo READ-mem; \
         readlink /proc/1/exe && echo READ-exe; \
         ls /proc/1/root/ >/dev/null 2>&1 && echo READ-root; \
         ls /proc/1/fd/ >/dev/null 2>&1 && echo READ-fd; echo end",
    ]);
    o.assert_success();
    assert_eq!(o.stdout, "end\n", "{o}");
    // Root of the container: no CAP_SYS_PTRACE; the host's processes are not even
    // visible (own pid namespace): pid 1 is the container's init.
    let o = root.fastrun(&[
        "exec",
        c.id(),
        "sh",
        "-c",
        "grep CapEff /proc/self/status; cat /proc/1/cmdline; echo; ls /proc | grep -c '^[0-9]'",
    ]);
    o.assert_success();
    assert_eq!(cap_field(&o.stdout, "CapEff:") & 1 << CAP_SYS_PTRACE, 0);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[1].trim_end_matches('\0'), "sleep\x00600", "{o}");
    let visible: u32 = lines[2].parse().unwrap();
    assert!(visible <= 4, "host processes visible: {o}");
}

/// Build a tiny static C program printing `uid euid CapEff` at `bin`, with the
/// system's C compiler (Rust links with it, so it is there).
fn build_ids(bin: &Path) {
    let src = bin.with_extension("c");
    std::fs::write(
        &src,
        r#"#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    char line[256];
    unsigned long long eff = ~0ULL;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "CapEff:", 7) == 0) sscanf(line + 7, "%llx", &eff);
    printf("%d %d %llx\n", (int)getuid(), (int)geteuid(), eff);
    return 0;
}
"#,
    )
    .unwrap();
    let out = Command::new("cc")
        .args(["-static", "-O1", "-o"])
        .arg(bin)
        .arg(&src)
        .output()
        .expect("cc (build-essential) is needed to build the ids helper");
    assert!(out.status.success(), "cc: {out:?}");
}

/// `uid euid CapEff` of the helper run in a container as uid 1000.
fn ids_in_container(name: &str, no_new_privs: bool, prepare: impl FnOnce(&Path)) -> String {
    let root = StateRoot::new();
    let b = Bundle::new(name)
        .own_rootfs()
        .args(&["/priv/ids"])
        .modify(|v| {
            v["process"]["user"] = serde_json::json!({"uid": 1000, "gid": 1000});
            v["process"]["noNewPrivileges"] = no_new_privs.into();
        });
    let dir = rootfs_of(&b).join("priv");
    std::fs::create_dir(&dir).unwrap();
    build_ids(&dir.join("ids"));
    prepare(&dir.join("ids"));
    let c = Container::new(&root, &b);
    let o = c.run();
    o.assert_success();
    c.assert_no_leftovers();
    o.stdout.trim().to_string()
}

/// Give `path` the file capability CAP_KILL (permitted + effective): a
/// `security.capability` xattr, revision 2.
fn set_file_cap(path: &Path) {
    let mut v = Vec::new();
    v.extend_from_slice(&(0x0200_0000u32 | 1).to_le_bytes()); // VFS_CAP_REVISION_2 | EFFECTIVE
    v.extend_from_slice(&(1u32 << CAP_KILL).to_le_bytes()); // permitted, low word
    v.extend_from_slice(&0u32.to_le_bytes()); // inheritable, low word
    v.extend_from_slice(&0u32.to_le_bytes()); // permitted, high word
    v.extend_from_slice(&0u32.to_le_bytes()); // inheritable, high word
    let p = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: valid NUL-terminated name and path, a buffer of the given length.
    let rc = unsafe {
        libc::setxattr(
            p.as_ptr(),
            c"security.capability".as_ptr(),
            v.as_ptr().cast(),
            v.len(),
            0,
        )
    };
    assert_eq!(rc, 0, "setxattr: {}", std::io::Error::last_os_error());
}

#[test]
fn file_capabilities_are_not_gained_with_no_new_privileges() {
    let with_nnp = ids_in_container("filecap-nnp", true, set_file_cap);
    assert_eq!(with_nnp, "1000 1000 0", "file caps gained under NNP");
    // Control: without NNP the same binary does get CAP_KILL (it is in the bounding
    // set), so the test above really exercises the file capability.
    let without = ids_in_container("filecap-control", false, set_file_cap);
    assert_eq!(without, format!("1000 1000 {:x}", 1u64 << CAP_KILL));
}

#[test]
fn setuid_root_binaries_do_not_give_root_with_no_new_privileges() {
    let suid = |p: &Path| {
        std::os::unix::fs::chown(p, Some(0), Some(0)).unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o4755)).unwrap();
    };
    let with_nnp = ids_in_container("setuid-nnp", true, suid);
    assert_eq!(with_nnp, "1000 1000 0", "setuid honoured under NNP");
    // Control: without NNP the setuid bit works (euid 0, and the capabilities the
    // bounding set allows).
    let without = ids_in_container("setuid-control", false, suid);
    assert!(without.starts_with("1000 0 "), "{without}");
}
