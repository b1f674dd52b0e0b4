//! A test-only CRI client: drives containerd's CRI plugin through one pod's whole
//! lifecycle with the default runtime handler (fastrun, in the e2e tests), the calls a
//! kubelet makes. Each step prints one `ok: ...` line; the first failure prints
//! `FAILED: <step>: <status>` and exits 1 (after trying to remove the pod).
//!
//! ```text
//! fastrun-cri-client --socket S --image IMG --cgroup-parent /P --log-dir DIR
//!     [--resources true|false] [--keep true]
//! ```
//!
//! `--cgroup-parent` is the pod's cgroup parent (cgroupfs): the container's memory
//! limit is then checked on the host in `/sys/fs/cgroup/memory/P/<container id>`.
//! `--resources false` skips that check and UpdateContainerResources.

use std::collections::HashMap;
use std::process::ExitCode;

use hyper_util::rt::TokioIo;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::*;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

type Client = RuntimeServiceClient<Channel>;

struct Args {
    socket: String,
    image: String,
    cgroup_parent: String,
    log_dir: String,
    /// Leave the pod in place after a failure (for debugging).
    keep: bool,
    /// Check the memory limit at create and UpdateContainerResources.
    resources: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut m = HashMap::new();
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().ok_or_else(|| format!("{k}: missing value"))?;
        m.insert(k, v);
    }
    let mut take = |k: &str| m.remove(k).ok_or_else(|| format!("missing {k}"));
    Ok(Args {
        socket: take("--socket")?,
        image: take("--image")?,
        cgroup_parent: take("--cgroup-parent")?,
        log_dir: take("--log-dir")?,
        keep: m.remove("--keep").is_some_and(|v| v == "true"),
        resources: m.remove("--resources").is_none_or(|v| v == "true"),
    })
}

/// A failed step: its name and what went wrong.
struct Fail(String);

fn step<T>(name: &str, r: Result<tonic::Response<T>, tonic::Status>) -> Result<T, Fail> {
    r.map(|r| r.into_inner())
        .map_err(|s| Fail(format!("{name}: {} ({:?})", s.message(), s.code())))
}

fn check(cond: bool, what: impl Into<String>) -> Result<(), Fail> {
    if cond {
        Ok(())
    } else {
        Err(Fail(what.into()))
    }
}

const MIB: i64 = 1024 * 1024;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("fastrun-cri-client: {e}");
            return ExitCode::from(2);
        }
    };
    let socket = args.socket.clone();
    let channel = match Endpoint::try_from("http://[::]:50051")
        .expect("static URI")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let s = socket.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(s).await?)) }
        }))
        .await
    {
        Ok(c) => c,
        Err(e) => {
            println!("FAILED: connect {}: {e}", args.socket);
            return ExitCode::FAILURE;
        }
    };
    let mut c = RuntimeServiceClient::new(channel);
    let mut pod = None;
    let r = pod_lifecycle(&mut c, &args, &mut pod).await;
    match r {
        Ok(()) => {
            println!("ok: all steps");
            ExitCode::SUCCESS
        }
        Err(Fail(msg)) => {
            println!("FAILED: {msg}");
            if let Some(id) = pod.filter(|_| !args.keep) {
                let _ = c
                    .stop_pod_sandbox(StopPodSandboxRequest {
                        pod_sandbox_id: id.clone(),
                    })
                    .await;
                let _ = c
                    .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id })
                    .await;
            }
            ExitCode::FAILURE
        }
    }
}

fn pod_config(args: &Args) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: "fastrun-e2e".into(),
            uid: format!("fastrun-e2e-{}", std::process::id()),
            namespace: "default".into(),
            attempt: 0,
        }),
        // Host networking (no CNI here), hence no hostname.
        log_directory: args.log_dir.clone(),
        linux: Some(LinuxPodSandboxConfig {
            cgroup_parent: args.cgroup_parent.clone(),
            security_context: Some(LinuxSandboxSecurityContext {
                namespace_options: Some(NamespaceOption {
                    network: NamespaceMode::Node as i32,
                    pid: NamespaceMode::Container as i32,
                    ipc: NamespaceMode::Pod as i32,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn exec_sync(c: &mut Client, id: &str, cmd: &[&str]) -> Result<ExecSyncResponse, Fail> {
    step(
        "ExecSync",
        c.exec_sync(ExecSyncRequest {
            container_id: id.into(),
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            timeout: 20,
        })
        .await,
    )
}

async fn container_state(c: &mut Client, id: &str) -> Result<ContainerStatus, Fail> {
    let s = step(
        "ContainerStatus",
        c.container_status(ContainerStatusRequest {
            container_id: id.into(),
            verbose: false,
        })
        .await,
    )?;
    s.status
        .ok_or_else(|| Fail("ContainerStatus: no status".into()))
}

async fn pod_lifecycle(c: &mut Client, args: &Args, pod: &mut Option<String>) -> Result<(), Fail> {
    let v = step("Version", c.version(VersionRequest::default()).await)?;
    println!("ok: Version {} {}", v.runtime_name, v.runtime_version);

    let config = pod_config(args);
    let r = step(
        "RunPodSandbox",
        c.run_pod_sandbox(RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: String::new(),
        })
        .await,
    )?;
    let pod_id = r.pod_sandbox_id;
    *pod = Some(pod_id.clone());
    println!("ok: RunPodSandbox {pod_id}");

    let ccfg = ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: "main".into(),
            attempt: 0,
        }),
        image: Some(ImageSpec {
            image: args.image.clone(),
            ..Default::default()
        }),
        command: vec!["sleep".into(), "3600".into()],
        envs: vec![KeyValue {
            key: "FASTRUN_E2E".into(),
            value: "cri".into(),
        }],
        log_path: "main.log".into(),
        linux: Some(LinuxContainerConfig {
            resources: Some(LinuxContainerResources {
                memory_limit_in_bytes: 128 * MIB,
                cpu_shares: 256,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let r = step(
        "CreateContainer",
        c.create_container(CreateContainerRequest {
            pod_sandbox_id: pod_id.clone(),
            config: Some(ccfg),
            sandbox_config: Some(config),
        })
        .await,
    )?;
    let cid = r.container_id;
    println!("ok: CreateContainer {cid}");

    step(
        "StartContainer",
        c.start_container(StartContainerRequest {
            container_id: cid.clone(),
        })
        .await,
    )?;
    let st = container_state(c, &cid).await?;
    check(
        st.state == ContainerState::ContainerRunning as i32,
        format!("after StartContainer, state {:?}", st.state),
    )?;
    println!("ok: StartContainer (running)");

    let r = exec_sync(
        c,
        &cid,
        &["sh", "-c", "echo exec-$FASTRUN_E2E; cat /proc/1/cmdline"],
    )
    .await?;
    let out = String::from_utf8_lossy(&r.stdout);
    check(
        // The container shares the pod's pid namespace (POD mode, the default):
        // pid 1 is the sandbox's pause process.
        r.exit_code == 0 && out == "exec-cri\nsleep\u{0}2147483647\u{0}",
        format!(
            "ExecSync: exit {}, stdout {out:?}, stderr {:?}",
            r.exit_code,
            String::from_utf8_lossy(&r.stderr)
        ),
    )?;
    let r = exec_sync(c, &cid, &["sh", "-c", "echo err >&2; exit 3"]).await?;
    check(
        r.exit_code == 3 && r.stderr == b"err\n",
        format!("ExecSync exit 3: got {} / {:?}", r.exit_code, r.stderr),
    )?;
    println!("ok: ExecSync (stdout, stderr, exit codes 0 and 3)");

    if args.resources {
        resources(c, args, &cid).await?;
    }

    let s = step(
        "ContainerStats",
        c.container_stats(ContainerStatsRequest {
            container_id: cid.clone(),
        })
        .await,
    )?;
    let stats = s
        .stats
        .ok_or_else(|| Fail("ContainerStats: no stats".into()))?;
    let mem = stats
        .memory
        .and_then(|m| m.working_set_bytes)
        .map(|v| v.value);
    check(
        stats.attributes.as_ref().map(|a| a.id.as_str()) == Some(cid.as_str())
            && mem.is_some_and(|m| m > 0),
        format!(
            "ContainerStats: attributes {:?}, working set {mem:?}",
            stats.attributes
        ),
    )?;
    println!(
        "ok: ContainerStats (working set {} bytes)",
        mem.unwrap_or(0)
    );

    step(
        "StopContainer",
        c.stop_container(StopContainerRequest {
            container_id: cid.clone(),
            timeout: 1,
        })
        .await,
    )?;
    let st = container_state(c, &cid).await?;
    check(
        // Not pid 1 (the pod's pid namespace): SIGTERM ends it.
        st.state == ContainerState::ContainerExited as i32 && st.exit_code == 143,
        format!(
            "after StopContainer: state {}, exit code {} (wanted exited, 143)",
            st.state, st.exit_code
        ),
    )?;
    println!("ok: StopContainer (exited, 143)");

    step(
        "RemoveContainer",
        c.remove_container(RemoveContainerRequest {
            container_id: cid.clone(),
        })
        .await,
    )?;
    println!("ok: RemoveContainer");
    step(
        "StopPodSandbox",
        c.stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: pod_id.clone(),
        })
        .await,
    )?;
    println!("ok: StopPodSandbox");
    step(
        "RemovePodSandbox",
        c.remove_pod_sandbox(RemovePodSandboxRequest {
            pod_sandbox_id: pod_id.clone(),
        })
        .await,
    )?;
    *pod = None;
    let l = step(
        "ListPodSandbox",
        c.list_pod_sandbox(ListPodSandboxRequest::default()).await,
    )?;
    check(
        !l.items.iter().any(|p| p.id == pod_id),
        format!("pod {pod_id} still listed after RemovePodSandbox"),
    )?;
    println!("ok: RemovePodSandbox (not listed any more)");
    Ok(())
}

/// The memory limit set at create, then UpdateContainerResources, checked on the host.
async fn resources(c: &mut Client, args: &Args, cid: &str) -> Result<(), Fail> {
    let limit_file = format!(
        "/sys/fs/cgroup/memory{}/{cid}/memory.limit_in_bytes",
        args.cgroup_parent
    );
    let read_limit = || {
        std::fs::read_to_string(&limit_file)
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|e| format!("({limit_file}: {e})"))
    };
    let before = read_limit();
    check(
        before == (128 * MIB).to_string(),
        format!("memory limit at create: {before}, wanted {}", 128 * MIB),
    )?;
    step(
        "UpdateContainerResources",
        c.update_container_resources(UpdateContainerResourcesRequest {
            container_id: cid.into(),
            linux: Some(LinuxContainerResources {
                memory_limit_in_bytes: 64 * MIB,
                cpu_shares: 512,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await,
    )?;
    let after = read_limit();
    check(
        after == (64 * MIB).to_string(),
        format!("memory limit after update: {after}, wanted {}", 64 * MIB),
    )?;
    println!("ok: UpdateContainerResources (memory limit {before} -> {after})");
    Ok(())
}
