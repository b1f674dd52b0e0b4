//! A minimal synchronous D-Bus client: just what the systemd cgroup driver needs.
//!
//! - Transport: a Unix stream socket (`std::os::unix::net`), every read bounded by
//!   the caller's deadline (no operation can hang).
//! - Authentication: `AUTH EXTERNAL` with the effective uid, pipelined with `BEGIN`
//!   (as sd-bus does: no round trip for the handshake).
//! - Peer-to-peer (systemd's `/run/systemd/private`): no `Hello`, no bus names; the
//!   manager sends every signal to its direct connections. On a bus (the system or
//!   session bus): `Hello`, then `AddMatch` for the signals wanted.
//! - Marshalling (little-endian, protocol version 1) of the basic types, arrays,
//!   structs and variants the manager's methods take; unmarshalling of the header
//!   fields and of bodies made of basic types (`o`, `s`, `uoss`, ...), which is
//!   all the replies and signals used here carry.
//!
//! Why hand-written rather than a crate: see `../README.md` (measured).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A D-Bus value the client can send.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Byte(u8),
    I16(i16),
    U16(u16),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    Double(f64),
    Str(String),
    /// `ay`
    Bytes(Vec<u8>),
    /// `au`
    U32s(Vec<u32>),
    /// `as`
    Strs(Vec<String>),
    /// `a(ss)`
    StrPairs(Vec<(String, String)>),
}

impl Value {
    /// The D-Bus signature of the value.
    pub fn signature(&self) -> &'static str {
        match self {
            Value::Bool(_) => "b",
            Value::Byte(_) => "y",
            Value::I16(_) => "n",
            Value::U16(_) => "q",
            Value::I32(_) => "i",
            Value::U32(_) => "u",
            Value::I64(_) => "x",
            Value::U64(_) => "t",
            Value::Double(_) => "d",
            Value::Str(_) => "s",
            Value::Bytes(_) => "ay",
            Value::U32s(_) => "au",
            Value::Strs(_) => "as",
            Value::StrPairs(_) => "a(ss)",
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Bool(v) => write!(f, "{v}"),
            Value::Byte(v) => write!(f, "{v}"),
            Value::I16(v) => write!(f, "{v}"),
            Value::U16(v) => write!(f, "{v}"),
            Value::I32(v) => write!(f, "{v}"),
            Value::U32(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::U64(u64::MAX) => write!(f, "infinity"),
            Value::U64(v) => write!(f, "{v}"),
            Value::Double(v) => write!(f, "{v}"),
            Value::Str(v) => write!(f, "{v:?}"),
            Value::Bytes(v) => write!(f, "{v:?}"),
            Value::U32s(v) => write!(f, "{v:?}"),
            Value::Strs(v) => write!(f, "{v:?}"),
            Value::StrPairs(v) => write!(f, "{v:?}"),
        }
    }
}

/// The client's errors.
#[derive(Debug, thiserror::Error)]
pub enum DbusError {
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An error reply: its D-Bus name and message.
    #[error("{message} ({name})")]
    Remote { name: String, message: String },
    #[error("D-Bus protocol: {0}")]
    Protocol(String),
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
}

impl DbusError {
    /// The D-Bus error name of an error reply.
    pub fn remote_name(&self) -> Option<&str> {
        match self {
            DbusError::Remote { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// Serializes values with D-Bus alignment (offsets relative to the buffer start,
/// which is 8-aligned in the message).
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    fn pad(&mut self, align: usize) {
        while self.buf.len() % align != 0 {
            self.buf.push(0);
        }
    }
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn u16(&mut self, v: u16) {
        self.pad(2);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u32(&mut self, v: u32) {
        self.pad(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.pad(8);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }
    pub fn sig(&mut self, s: &str) {
        self.buf.push(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }
    /// An array whose elements have alignment `align`, written by `f`.
    pub fn array(&mut self, align: usize, f: impl FnOnce(&mut Writer)) {
        self.u32(0);
        let at = self.buf.len() - 4;
        self.pad(align);
        let start = self.buf.len();
        f(self);
        let n = (self.buf.len() - start) as u32;
        self.buf[at..at + 4].copy_from_slice(&n.to_le_bytes());
    }
    /// The start of a struct or dict entry.
    pub fn begin_struct(&mut self) {
        self.pad(8);
    }
    pub fn value(&mut self, v: &Value) {
        match v {
            Value::Bool(b) => self.u32(u32::from(*b)),
            Value::Byte(b) => self.u8(*b),
            Value::I16(n) => self.u16(*n as u16),
            Value::U16(n) => self.u16(*n),
            Value::I32(n) => self.u32(*n as u32),
            Value::U32(n) => self.u32(*n),
            Value::I64(n) => self.u64(*n as u64),
            Value::U64(n) => self.u64(*n),
            Value::Double(d) => self.u64(d.to_bits()),
            Value::Str(s) => self.str(s),
            Value::Bytes(b) => self.array(1, |w| w.buf.extend_from_slice(b)),
            Value::U32s(v) => self.array(4, |w| v.iter().for_each(|n| w.u32(*n))),
            Value::Strs(v) => self.array(4, |w| v.iter().for_each(|s| w.str(s))),
            Value::StrPairs(v) => self.array(8, |w| {
                for (a, b) in v {
                    w.begin_struct();
                    w.str(a);
                    w.str(b);
                }
            }),
        }
    }
    pub fn variant(&mut self, v: &Value) {
        self.sig(v.signature());
        self.value(v);
    }
    /// `a(sv)`: unit properties.
    pub fn properties(&mut self, props: &[(String, Value)]) {
        self.array(8, |w| {
            for (name, v) in props {
                w.begin_struct();
                w.str(name);
                w.variant(v);
            }
        });
    }
}

const METHOD_CALL: u8 = 1;
const METHOD_RETURN: u8 = 2;
const ERROR: u8 = 3;
const SIGNAL: u8 = 4;

/// A received message: its type, header fields and body (basic types only).
#[derive(Debug, Default, Clone)]
pub struct Message {
    pub kind: u8,
    pub serial: u32,
    pub reply_serial: Option<u32>,
    pub path: Option<String>,
    pub interface: Option<String>,
    pub member: Option<String>,
    pub error_name: Option<String>,
    pub signature: String,
    /// The body's leading basic values (strings, object paths, integers as text).
    pub body: Vec<String>,
}

/// Builds a method call message.
#[allow(clippy::too_many_arguments)]
pub fn method_call(
    serial: u32,
    destination: Option<&str>,
    path: &str,
    interface: &str,
    member: &str,
    signature: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut w = Writer::default();
    w.u8(b'l');
    w.u8(METHOD_CALL);
    w.u8(0);
    w.u8(1);
    w.u32(body.len() as u32);
    w.u32(serial);
    w.array(8, |w| {
        let mut field = |code: u8, sig: &str, v: &str| {
            w.begin_struct();
            w.u8(code);
            w.sig(sig);
            if sig == "g" {
                w.sig(v)
            } else {
                w.str(v)
            }
        };
        field(1, "o", path);
        field(2, "s", interface);
        field(3, "s", member);
        if let Some(d) = destination {
            field(6, "s", d);
        }
        if !signature.is_empty() {
            field(8, "g", signature);
        }
    });
    w.pad(8);
    w.buf.extend_from_slice(body);
    w.buf
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn err(&self, what: &str) -> DbusError {
        DbusError::Protocol(format!("truncated message reading {what} at {}", self.pos))
    }
    fn align(&mut self, a: usize) {
        self.pos = self.pos.div_ceil(a) * a;
    }
    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], DbusError> {
        let s = self
            .buf
            .get(self.pos..self.pos + n)
            .ok_or_else(|| self.err(what))?;
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, DbusError> {
        Ok(self.take(1, "byte")?[0])
    }
    fn u32(&mut self) -> Result<u32, DbusError> {
        self.align(4);
        let b = self.take(4, "uint32")?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, DbusError> {
        self.align(8);
        let b = self.take(8, "uint64")?;
        Ok(u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    }
    fn str(&mut self) -> Result<String, DbusError> {
        let n = self.u32()? as usize;
        let s = String::from_utf8_lossy(self.take(n, "string")?).into_owned();
        self.take(1, "string end")?;
        Ok(s)
    }
    fn sig(&mut self) -> Result<String, DbusError> {
        let n = self.u8()? as usize;
        let s = String::from_utf8_lossy(self.take(n, "signature")?).into_owned();
        self.take(1, "signature end")?;
        Ok(s)
    }
    /// One basic value as text, or None for a type this reader does not parse.
    fn basic(&mut self, t: u8) -> Result<Option<String>, DbusError> {
        Ok(Some(match t {
            b's' | b'o' => self.str()?,
            b'g' => self.sig()?,
            b'y' => self.u8()?.to_string(),
            b'b' => (self.u32()? != 0).to_string(),
            b'u' => self.u32()?.to_string(),
            b'i' => (self.u32()? as i32).to_string(),
            b't' => self.u64()?.to_string(),
            b'x' => (self.u64()? as i64).to_string(),
            // a variant holding a basic value (a property's value)
            b'v' => {
                let sig = self.sig()?;
                match sig.as_bytes() {
                    [t] => return self.basic(*t),
                    _ => return Ok(None),
                }
            }
            _ => return Ok(None),
        }))
    }
}

/// The total length of the message whose fixed 16-byte header starts `buf`.
fn message_len(buf: &[u8]) -> Result<usize, DbusError> {
    if buf[0] != b'l' {
        return Err(DbusError::Protocol(format!(
            "unsupported byte order {:?} (only little-endian)",
            buf[0] as char
        )));
    }
    let body = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]) as usize;
    let fields = u32::from_le_bytes([buf[12], buf[13], buf[14], buf[15]]) as usize;
    let len = (16 + fields).div_ceil(8) * 8 + body;
    if len > 128 << 20 {
        return Err(DbusError::Protocol(format!("message of {len} bytes")));
    }
    Ok(len)
}

/// Parses one complete message.
pub fn parse(buf: &[u8]) -> Result<Message, DbusError> {
    let mut r = Reader { buf, pos: 0 };
    let mut m = Message::default();
    r.u8()?;
    m.kind = r.u8()?;
    r.u8()?;
    r.u8()?;
    let body_len = r.u32()? as usize;
    m.serial = r.u32()?;
    let fields_len = r.u32()? as usize;
    let end = r.pos + fields_len;
    while r.pos < end {
        r.align(8);
        let code = r.u8()?;
        let sig = r.sig()?;
        let v = match sig.as_bytes() {
            [t] => r
                .basic(*t)?
                .ok_or_else(|| DbusError::Protocol(format!("header field type {sig}")))?,
            _ => return Err(DbusError::Protocol(format!("header field type {sig}"))),
        };
        match code {
            1 => m.path = Some(v),
            2 => m.interface = Some(v),
            3 => m.member = Some(v),
            4 => m.error_name = Some(v),
            5 => m.reply_serial = v.parse().ok(),
            8 => m.signature = v,
            _ => {}
        }
    }
    r.align(8);
    let body_end = r.pos + body_len;
    let body = buf.get(..body_end).ok_or_else(|| r.err("body"))?;
    let mut b = Reader {
        buf: body,
        pos: r.pos,
    };
    // Body alignment is relative to the message start, like the header's.
    for t in m.signature.clone().bytes() {
        match b.basic(t)? {
            Some(v) => m.body.push(v),
            None => break,
        }
    }
    Ok(m)
}

/// One connection to systemd's manager.
pub struct Conn {
    sock: UnixStream,
    path: PathBuf,
    serial: u32,
    /// Bytes read but not yet parsed.
    rbuf: Vec<u8>,
    /// The `OK <guid>` line of the handshake is still to be read.
    auth_pending: bool,
    /// On a bus (not peer-to-peer): messages need a destination.
    bus: bool,
    /// Signals read while waiting for something else.
    signals: Vec<Message>,
}

pub const SYSTEMD_DEST: &str = "org.freedesktop.systemd1";
pub const SYSTEMD_PATH: &str = "/org/freedesktop/systemd1";
pub const MANAGER_IFACE: &str = "org.freedesktop.systemd1.Manager";

impl Conn {
    /// Connects and authenticates; `bus`: the socket is a message bus (sends
    /// `Hello` and subscribes to the manager's `JobRemoved` signals).
    pub fn connect(path: &Path, bus: bool, deadline: Instant) -> Result<Conn, DbusError> {
        let sock = UnixStream::connect(path).map_err(|source| DbusError::Io {
            op: "D-Bus: connect to",
            path: path.to_path_buf(),
            source,
        })?;
        let mut c = Conn {
            sock,
            path: path.to_path_buf(),
            serial: 0,
            rbuf: Vec::with_capacity(4096),
            auth_pending: true,
            bus,
            signals: Vec::new(),
        };
        let uid: String = crate::sys::geteuid()
            .to_string()
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        // AUTH and BEGIN in one write; the server's OK is read before the first
        // message goes out (not here: the server sets the connection up while the
        // caller does other work). Never pipelined with a message: systemd's server
        // (sd-bus) does not look at a message that arrived in the same read as
        // BEGIN until more bytes come, so a pipelined first call waits forever.
        let hello = format!("\0AUTH EXTERNAL {uid}\r\nBEGIN\r\n");
        c.send(hello.as_bytes())?;
        if bus {
            c.call(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "Hello",
                "",
                &[],
                deadline,
            )?;
            let mut w = Writer::default();
            w.str(&format!(
                "type='signal',sender='{SYSTEMD_DEST}',interface='{MANAGER_IFACE}',member='JobRemoved'"
            ));
            c.call(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "AddMatch",
                "s",
                &w.buf,
                deadline,
            )?;
            // The manager emits signals on a bus only to subscribed clients.
            c.manager_call("Subscribe", "", &[], deadline)?;
        }
        Ok(c)
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), DbusError> {
        self.sock.write_all(bytes).map_err(|source| DbusError::Io {
            op: "D-Bus: write to",
            path: self.path.clone(),
            source,
        })
    }

    /// Reads more bytes, waiting until `deadline` at most.
    fn fill(&mut self, deadline: Instant, what: &str) -> Result<(), DbusError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(DbusError::Timeout(Duration::ZERO, what.to_string()));
        }
        let io = |source| DbusError::Io {
            op: "D-Bus: read from",
            path: self.path.clone(),
            source,
        };
        self.sock.set_read_timeout(Some(left)).map_err(io)?;
        let mut chunk = [0u8; 4096];
        match self.sock.read(&mut chunk) {
            Ok(0) => Err(DbusError::Protocol(format!(
                "{} closed the connection",
                self.path.display()
            ))),
            Ok(n) => {
                self.rbuf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Err(DbusError::Timeout(left, what.to_string()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    /// Reads the server's `OK <guid>` line.
    fn read_auth(&mut self, deadline: Instant) -> Result<(), DbusError> {
        if self.auth_pending {
            loop {
                if let Some(i) = self.rbuf.windows(2).position(|w| w == b"\r\n") {
                    let line = String::from_utf8_lossy(&self.rbuf[..i]).into_owned();
                    self.rbuf.drain(..i + 2);
                    if !line.starts_with("OK ") {
                        return Err(DbusError::Protocol(format!(
                            "authentication refused by {}: {line:?}",
                            self.path.display()
                        )));
                    }
                    self.auth_pending = false;
                    break;
                }
                self.fill(deadline, "the authentication")?;
            }
        }
        Ok(())
    }

    /// The next message from the peer.
    fn recv(&mut self, deadline: Instant, what: &str) -> Result<Message, DbusError> {
        self.read_auth(deadline)?;
        loop {
            if self.rbuf.len() >= 16 {
                let len = message_len(&self.rbuf)?;
                if self.rbuf.len() >= len {
                    let m = parse(&self.rbuf[..len]);
                    self.rbuf.drain(..len);
                    return m;
                }
            }
            self.fill(deadline, what)?;
        }
    }

    /// Calls a method and waits for its reply (an error reply is an error).
    #[allow(clippy::too_many_arguments)]
    pub fn call(
        &mut self,
        dest: &str,
        path: &str,
        iface: &str,
        member: &str,
        sig: &str,
        body: &[u8],
        deadline: Instant,
    ) -> Result<Message, DbusError> {
        self.read_auth(deadline)?;
        self.serial += 1;
        let serial = self.serial;
        let msg = method_call(
            serial,
            self.bus.then_some(dest),
            path,
            iface,
            member,
            sig,
            body,
        );
        self.send(&msg)?;
        loop {
            let m = self.recv(deadline, &format!("the reply to {member}"))?;
            match m.kind {
                METHOD_RETURN if m.reply_serial == Some(serial) => return Ok(m),
                ERROR if m.reply_serial == Some(serial) => {
                    return Err(DbusError::Remote {
                        name: m.error_name.unwrap_or_default(),
                        message: m.body.first().cloned().unwrap_or_default(),
                    })
                }
                SIGNAL => self.signals.push(m),
                _ => {}
            }
        }
    }

    /// Calls a method of systemd's manager object.
    pub fn manager_call(
        &mut self,
        member: &str,
        sig: &str,
        body: &[u8],
        deadline: Instant,
    ) -> Result<Message, DbusError> {
        self.call(
            SYSTEMD_DEST,
            SYSTEMD_PATH,
            MANAGER_IFACE,
            member,
            sig,
            body,
            deadline,
        )
    }

    /// Waits for the manager's `JobRemoved` signal of `job` (an object path) and
    /// returns the job's result ("done", "failed", "timeout", ...).
    pub fn wait_job(&mut self, job: &str, deadline: Instant) -> Result<String, DbusError> {
        let is_ours = |m: &Message| {
            m.kind == SIGNAL
                && m.member.as_deref() == Some("JobRemoved")
                && m.body.get(1).map(String::as_str) == Some(job)
        };
        if let Some(i) = self.signals.iter().position(is_ours) {
            let m = self.signals.swap_remove(i);
            return Ok(m.body.get(3).cloned().unwrap_or_default());
        }
        self.signals.clear();
        loop {
            let m = self.recv(deadline, &format!("systemd job {job}"))?;
            if is_ours(&m) {
                return Ok(m.body.get(3).cloned().unwrap_or_default());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_call_layout() {
        // StartTransientUnit("a.scope", "replace", [("Delegate", <true>)], [])
        let mut w = Writer::default();
        w.str("a.scope");
        w.str("replace");
        w.properties(&[("Delegate".into(), Value::Bool(true))]);
        w.array(8, |_| {});
        let msg = method_call(
            7,
            None,
            SYSTEMD_PATH,
            MANAGER_IFACE,
            "StartTransientUnit",
            "ssa(sv)a(sa(sv))",
            &w.buf,
        );
        assert_eq!(&msg[..4], b"l\x01\x00\x01");
        assert_eq!(message_len(&msg).unwrap(), msg.len());
        let m = parse(&msg).unwrap();
        assert_eq!(m.kind, METHOD_CALL);
        assert_eq!(m.serial, 7);
        assert_eq!(m.path.as_deref(), Some(SYSTEMD_PATH));
        assert_eq!(m.member.as_deref(), Some("StartTransientUnit"));
        assert_eq!(m.signature, "ssa(sv)a(sa(sv))");
        assert_eq!(m.body, ["a.scope", "replace"]);
        let body = &msg[msg.len() - w.buf.len()..];
        // "a.scope": 4+7+1 = 12, "replace": 4+7+1 = 12 → array length at 24; the
        // struct ("Delegate", <true>) at 32..52: 20 bytes
        assert_eq!(u32::from_le_bytes(body[24..28].try_into().unwrap()), 20);
        // struct at 32: string "Delegate" (4+8+1=13 → 45), sig "b" at 45 (3 → 48), u32 1
        assert_eq!(&body[45..48], b"\x01b\x00");
        assert_eq!(u32::from_le_bytes(body[48..52].try_into().unwrap()), 1);
        // the empty aux array: length 0, padded to 8 for its (absent) structs
        assert_eq!(u32::from_le_bytes(body[52..56].try_into().unwrap()), 0);
        assert_eq!(body.len(), 56);
    }

    #[test]
    fn values_align() {
        let mut w = Writer::default();
        w.u8(1);
        w.value(&Value::U64(2));
        assert_eq!(w.buf.len(), 16);
        w.value(&Value::StrPairs(vec![("a".into(), "b".into())]));
        // u32 length at 16, pad to 24, struct: "a" (4+1+1=6) → 30, pad 32, "b" → 38
        assert_eq!(u32::from_le_bytes(w.buf[16..20].try_into().unwrap()), 14);
        assert_eq!(w.buf.len(), 38);
        w.value(&Value::Bytes(vec![1, 2, 3]));
        assert_eq!(&w.buf[40..47], &[3, 0, 0, 0, 1, 2, 3]);
    }

    #[test]
    fn signal_body_parses() {
        // a JobRemoved signal as the manager sends it
        let mut b = Writer::default();
        b.u32(42);
        b.str("/org/freedesktop/systemd1/job/42");
        b.str("x-c1.scope");
        b.str("done");
        let mut msg = method_call(
            3,
            None,
            SYSTEMD_PATH,
            MANAGER_IFACE,
            "JobRemoved",
            "uoss",
            &b.buf,
        );
        msg[1] = SIGNAL;
        let m = parse(&msg).unwrap();
        assert_eq!(m.kind, SIGNAL);
        assert_eq!(
            m.body,
            [
                "42",
                "/org/freedesktop/systemd1/job/42",
                "x-c1.scope",
                "done"
            ]
        );
    }

    #[test]
    fn variant_reply_parses() {
        // the reply to Properties.Get: a variant holding a string
        let mut b = Writer::default();
        b.variant(&Value::Str(
            "/user.slice/user-1000.slice/user@1000.service".into(),
        ));
        let mut msg = method_call(9, None, "/", "a.b", "Get", "v", &b.buf);
        msg[1] = METHOD_RETURN;
        assert_eq!(
            parse(&msg).unwrap().body,
            ["/user.slice/user-1000.slice/user@1000.service"]
        );
    }

    #[test]
    fn truncated_is_an_error() {
        let msg = method_call(1, None, "/", "a.b", "C", "s", &{
            let mut w = Writer::default();
            w.str("hello");
            w.buf
        });
        assert!(parse(&msg[..msg.len() - 3]).is_err());
    }
}
