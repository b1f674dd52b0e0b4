//! Events to containerd (`containerd.services.events.ttrpc.v1.Events/Forward`),
//! without protobuf reflection: the crate's publisher names each event through
//! its descriptor, which makes rust-protobuf build the descriptors of the whole
//! events package on the first event (heap the idle shim keeps). The type URL
//! follows from the topic instead.

use std::os::fd::IntoRawFd;
use std::os::unix::net::UnixStream;

use containerd_shim_protos::protobuf::well_known_types::any::Any;
use containerd_shim_protos::protobuf::well_known_types::timestamp::Timestamp;
use containerd_shim_protos::protobuf::{MessageDyn, MessageField};
use containerd_shim_protos::shim::event::Envelope;
use containerd_shim_protos::shim::events::ForwardRequest;
use containerd_shim_protos::topics;
use containerd_shim_protos::ttrpc::context::Context;
use containerd_shim_protos::{Client, EventsClient};

/// The protobuf type of the event published on `topic`.
/// The current time as a protobuf timestamp (events, exit times).
pub fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut t = Timestamp::new();
    t.seconds = d.as_secs() as i64;
    t.nanos = d.subsec_nanos() as i32;
    t
}

pub fn type_url(topic: &str) -> Option<&'static str> {
    Some(match topic {
        topics::TASK_CREATE_EVENT_TOPIC => "containerd.events.TaskCreate",
        topics::TASK_START_EVENT_TOPIC => "containerd.events.TaskStart",
        topics::TASK_OOM_EVENT_TOPIC => "containerd.events.TaskOOM",
        topics::TASK_EXIT_EVENT_TOPIC => "containerd.events.TaskExit",
        topics::TASK_DELETE_EVENT_TOPIC => "containerd.events.TaskDelete",
        topics::TASK_EXEC_ADDED_EVENT_TOPIC => "containerd.events.TaskExecAdded",
        topics::TASK_EXEC_STARTED_EVENT_TOPIC => "containerd.events.TaskExecStarted",
        topics::TASK_PAUSED_EVENT_TOPIC => "containerd.events.TaskPaused",
        topics::TASK_RESUMED_EVENT_TOPIC => "containerd.events.TaskResumed",
        topics::TASK_CHECKPOINTED_EVENT_TOPIC => "containerd.events.TaskCheckpointed",
        _ => return None,
    })
}

/// A connection to containerd's ttrpc address.
pub struct Publisher {
    client: EventsClient,
}

impl Publisher {
    pub fn connect(address: &str) -> Result<Publisher, String> {
        let path = address.strip_prefix("unix://").unwrap_or(address);
        let fd = UnixStream::connect(path)
            .map_err(|e| format!("connect {path}: {e}"))?
            .into_raw_fd();
        let client = Client::new(fd).map_err(|e| format!("ttrpc client {path}: {e}"))?;
        Ok(Publisher {
            client: EventsClient::new(client),
        })
    }

    /// Forward one event of `namespace` on `topic`.
    pub fn publish(&self, topic: &str, namespace: &str, ev: &dyn MessageDyn) -> Result<(), String> {
        let type_url = type_url(topic).ok_or_else(|| format!("no event type for topic {topic}"))?;
        let mut any = Any::new();
        any.type_url = type_url.to_string();
        any.value = ev.write_to_bytes_dyn().map_err(|e| e.to_string())?;
        let mut env = Envelope::new();
        env.topic = topic.to_string();
        env.namespace = namespace.to_string();
        env.timestamp = MessageField::some(now());
        env.event = MessageField::some(any);
        let mut req = ForwardRequest::new();
        req.envelope = MessageField::some(env);
        self.client
            .forward(Context::default(), &req)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use containerd_shim_protos::events::task::{TaskCreate, TaskOOM};
    use containerd_shim_protos::protobuf::MessageFull;

    #[test]
    fn type_urls_match_the_descriptors() {
        // What the crate's reflection would have named them.
        assert_eq!(
            type_url(topics::TASK_CREATE_EVENT_TOPIC),
            Some(TaskCreate::descriptor().full_name())
        );
        assert_eq!(
            type_url(topics::TASK_OOM_EVENT_TOPIC),
            Some(TaskOOM::descriptor().full_name())
        );
        assert_eq!(type_url("/tasks/nope"), None);
    }
}
