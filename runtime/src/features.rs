//! `features`: what this build of the engine really supports, in the OCI
//! runtime-spec `features.md` format. Everything listed here is implemented;
//! what is not implemented yet is absent or `enabled: false`.

use crate::spec::names;

/// Mount options the option parser understands (others go to the file system as data).
const MOUNT_OPTIONS: &[&str] = &[
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "iversion",
    "lazytime",
    "loud",
    "mand",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "noiversion",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "nosymfollow",
    "private",
    "ratime",
    "rbind",
    "rdev",
    "rdiratime",
    "relatime",
    "remount",
    "rexec",
    "idmap",
    "ridmap",
    "rnoatime",
    "rnodev",
    "rnodiratime",
    "rnoexec",
    "rnorelatime",
    "rnostrictatime",
    "rnosuid",
    "rnosymfollow",
    "ro",
    "rprivate",
    "rrelatime",
    "rro",
    "rrw",
    "rshared",
    "rslave",
    "rstrictatime",
    "rsuid",
    "rsymfollow",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "symfollow",
    "sync",
    "unbindable",
];

const HOOKS: &[&str] = &[
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

const NAMESPACES: &[&str] = &[
    "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts",
];

fn list(items: &[&str], indent: &str) -> String {
    if items.is_empty() {
        return "[]".into();
    }
    let inner: Vec<String> = items.iter().map(|s| format!("{indent}  \"{s}\"")).collect();
    format!("[\n{}\n{indent}]", inner.join(",\n"))
}

/// The features JSON (pretty, two-space indent, as runc prints it).
pub fn features_json() -> String {
    format!(
        r#"{{
  "ociVersionMin": "1.0.0",
  "ociVersionMax": "{max}",
  "hooks": {hooks},
  "mountOptions": {mounts},
  "linux": {{
    "namespaces": {ns},
    "capabilities": {caps},
    "cgroup": {{
      "v1": true,
      "v2": true,
      "systemd": true,
      "systemdUser": true,
      "rdma": true
    }},
    "seccomp": {{
      "enabled": true,
      "actions": {actions},
      "operators": {ops},
      "archs": {archs},
      "knownFlags": {known_flags},
      "supportedFlags": {supported_flags}
    }},
    "apparmor": {{
      "enabled": false
    }},
    "selinux": {{
      "enabled": false
    }},
    "intelRdt": {{
      "enabled": false
    }},
    "mountExtensions": {{
      "idmap": {{
        "enabled": true
      }}
    }}
  }},
  "annotations": {{
    "io.github.seccomp.libseccomp.version": "{libseccomp}",
    "org.opencontainers.runc.checkpoint.enabled": "false",
    "run.fastrun.libseccomp-linkage": "{linkage}",
    "run.fastrun.version": "{version}",
    "run.fastrun.exec-trampoline": "{trampoline}",
    "run.fastrun.rootless": "{rootless}",
    "run.fastrun.cgroup": "{cgroup}"
  }},
  "potentiallyUnsafeConfigAnnotations": [
    "org.systemd.property."
  ]
}}
"#,
        max = crate::OCI_SPEC_VERSION,
        hooks = list(HOOKS, "  "),
        mounts = list(MOUNT_OPTIONS, "  "),
        ns = list(NAMESPACES, "    "),
        caps = list(&names::CAPABILITIES, "    "),
        actions = list(&names::SECCOMP_ACTIONS, "      "),
        ops = list(&names::SECCOMP_OPS, "      "),
        archs = list(&crate::seccomp::supported_archs(), "      "),
        known_flags = list(&names::SECCOMP_FLAGS, "      "),
        supported_flags = list(&crate::seccomp::supported_flags(), "      "),
        libseccomp = crate::seccomp::compile::libseccomp_version(),
        linkage = env!("FASTRUN_LIBSECCOMP_LINKAGE"),
        version = crate::version(),
        trampoline = crate::spawn::trampoline::AVAILABLE,
        rootless = crate::rootless::is_rootless(),
        // "none": containers without a cgroupsPath get no cgroup of their own here
        cgroup = if crate::rootless::default_cgroup_writable() {
            "own"
        } else {
            "none"
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_is_valid_json_listing_what_exists() {
        let j: serde_json::Value = serde_json::from_str(&features_json()).unwrap();
        assert_eq!(j["ociVersionMax"], crate::OCI_SPEC_VERSION);
        let ns = j["linux"]["namespaces"].as_array().unwrap();
        assert_eq!(ns.len(), 8);
        let caps = j["linux"]["capabilities"].as_array().unwrap();
        assert!(caps.iter().any(|c| c == "CAP_SYS_ADMIN"));
        assert_eq!(j["hooks"].as_array().unwrap().len(), 6);
        let sc = &j["linux"]["seccomp"];
        assert_eq!(sc["enabled"], true);
        assert_eq!(sc["actions"].as_array().unwrap().len(), 9);
        assert_eq!(sc["operators"].as_array().unwrap().len(), 7);
        assert_eq!(sc["knownFlags"].as_array().unwrap().len(), 4);
        // Every advertised architecture compiles.
        for a in sc["archs"].as_array().unwrap() {
            let json = format!(r#"{{"defaultAction":"SCMP_ACT_ALLOW","architectures":[{a}]}}"#);
            let s: crate::spec::Seccomp<'_> = serde_json::from_str(&json).unwrap();
            crate::seccomp::compile(&s).unwrap();
        }
        assert!(sc["supportedFlags"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| sc["knownFlags"].as_array().unwrap().contains(f)));
        let cg = &j["linux"]["cgroup"];
        assert_eq!((&cg["v1"], &cg["v2"]), (&true.into(), &true.into()));
        // the systemd driver (system and user managers), its annotations marked unsafe
        assert_eq!(
            (&cg["systemd"], &cg["systemdUser"]),
            (&true.into(), &true.into())
        );
        assert_eq!(
            j["potentiallyUnsafeConfigAnnotations"],
            serde_json::json!(["org.systemd.property."])
        );
        // Every advertised mount option is one the parser resolves, not file-system data.
        for o in j["mountOptions"].as_array().unwrap() {
            let parsed = crate::plan::mount_options::parse([o.as_str().unwrap()]);
            assert!(parsed.data.is_empty(), "{o} falls through to fs data");
        }
    }
}
