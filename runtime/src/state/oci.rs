//! The OCI state document (runtime-spec `runtime.md`, "State"): what hooks read on
//! stdin and what a seccomp listener gets inside its `ContainerProcessState`. One
//! `Serialize` type for both; add a field here and both carry it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Record;

/// The OCI state of a container.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState<'a> {
    pub oci_version: &'a str,
    pub id: &'a str,
    pub status: &'a str,
    /// Left out when there is no process (poststop), as runc does.
    #[serde(skip_serializing_if = "no_pid")]
    pub pid: i32,
    pub bundle: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<&'a str, &'a str>,
}

fn no_pid(pid: &i32) -> bool {
    *pid <= 0
}

impl<'a> OciState<'a> {
    /// The state of the container `rec` records, with `status` and `pid`.
    pub fn of(rec: &'a Record, status: &'a str, pid: i32) -> OciState<'a> {
        OciState {
            oci_version: &rec.oci_version,
            id: &rec.id,
            status,
            pid,
            bundle: rec.bundle.to_str().unwrap_or(""),
            annotations: rec
                .annotations
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
        }
    }

    /// Compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_json_shape() {
        let mut ann = BTreeMap::new();
        ann.insert("a", "b\"c");
        let s = OciState {
            oci_version: "1.0.2",
            id: "c1",
            status: "creating",
            pid: 42,
            bundle: "/b",
            annotations: ann,
        }
        .to_json();
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["ociVersion"], "1.0.2");
        assert_eq!(v["pid"], 42);
        assert_eq!(v["annotations"]["a"], "b\"c");
    }

    #[test]
    fn state_json_has_no_pid_without_a_process() {
        let s = OciState {
            oci_version: "1.0.2",
            id: "c1",
            status: "stopped",
            pid: 0,
            bundle: "/b",
            annotations: Default::default(),
        }
        .to_json();
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert!(v.get("pid").is_none(), "{s}");
        assert_eq!(v["status"], "stopped");
    }
}
