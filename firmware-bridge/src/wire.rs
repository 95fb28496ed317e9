//! Messages of the konsign cutting-station protocol, version 1.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The full protocol version this code speaks.
pub const PROTOCOL_VERSION: &str = "1.1.0";
/// The major version, also in the topic prefix.
pub const MAJOR: u64 = 1;
/// Every topic starts with this.
pub const PREFIX: &str = "konsign/v1";
/// The largest payload either side accepts.
pub const MAX_PAYLOAD: usize = 65_536;
/// The `station` segment of the host's own topics.
pub const HOST_SEGMENT: &str = "_host";

/// The envelope header of every message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub message_id: String,
    pub counter: u64,
    pub timestamp: String,
    pub version: String,
    pub site: String,
    pub station: String,
    pub boot_id: String,
}

impl Header {
    /// A header stamped now with this protocol version.
    pub fn new(site: &str, station: &str, boot_id: &str, message_id: String, counter: u64) -> Self {
        Self {
            message_id,
            counter,
            timestamp: chrono::Utc::now()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string(),
            version: PROTOCOL_VERSION.into(),
            site: site.into(),
            station: station.into(),
            boot_id: boot_id.into(),
        }
    }
}

/// The plate to cut.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plate {
    /// GTIN-14.
    pub gtin: String,
    pub lot: String,
    /// `YYYY-MM-DD`.
    pub expiry: String,
}

/// The hole to cut (not the stoma), in millimetres.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Shape {
    Round {
        diameter_mm: f64,
    },
    Oval {
        width_mm: f64,
        height_mm: f64,
        #[serde(default)]
        rotation_deg: f64,
    },
    Custom {
        template_id: String,
        template_version: u32,
    },
}

impl Shape {
    pub fn kind(&self) -> ShapeKind {
        match self {
            Shape::Round { .. } => ShapeKind::Round,
            Shape::Oval { .. } => ShapeKind::Oval,
            Shape::Custom { .. } => ShapeKind::Custom,
        }
    }
    /// The largest and smallest dimension (custom shapes: none).
    pub fn extent_mm(&self) -> Option<(f64, f64)> {
        match self {
            Shape::Round { diameter_mm } => Some((*diameter_mm, *diameter_mm)),
            Shape::Oval {
                width_mm,
                height_mm,
                ..
            } => Some((width_mm.min(*height_mm), width_mm.max(*height_mm))),
            Shape::Custom { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShapeKind {
    Round,
    Oval,
    Custom,
}

/// What the station prints on the cut box's sticker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sticker {
    pub product: String,
    pub cut_spec: String,
    pub line_ref: String,
}

/// A cutting job (host -> station).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub header: Header,
    pub job_id: String,
    pub revision: u32,
    pub content_hash: String,
    /// Pseudonymous order-line reference.
    pub line_ref: String,
    pub plate: Plate,
    pub quantity: u32,
    pub shape: Shape,
    pub tolerance_mm: f64,
    pub sticker: Sticker,
}

impl Job {
    /// SHA-256 (hex) of the job's content: the JSON without `header` and `content_hash`, keys
    /// sorted, no whitespace. The host computes it; a station compares it as given.
    pub fn compute_hash(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let serde_json::Value::Object(m) = &mut v {
            m.remove("header");
            m.remove("content_hash");
        }
        let mut canonical = String::new();
        write_canonical(&v, &mut canonical);
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(canonical.as_bytes()))
    }
}

/// JSON with object keys sorted at every level (independent of serde_json's map order).
fn write_canonical(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&m[k], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    Start,
    Cancel,
    Pause,
    Resume,
    ClearFault,
    StateRequest,
}

/// A command (host -> station).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cmd {
    pub header: Header,
    pub cmd_id: String,
    pub command: Command,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// The revision of `job_id` the command is about (1.1; konsign always names it for `start`
    /// and `cancel`). A station holding another revision answers `rejected` `conflict`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckResult {
    Accepted,
    Duplicate,
    Rejected,
}

/// A job's state on the station.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Finished,
    Failed,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    Conflict,
    AlreadyRunning,
    OutOfRange,
    UnknownShape,
    QueueFull,
    UnknownJob,
    /// (1.1) The job has ended already (finished, failed or cancelled): `job_state` says how.
    AlreadyFinished,
    Invalid,
    UnsupportedVersion,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub code: RejectCode,
    pub message: String,
}

/// The answer to a job or a command (station -> host).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    pub header: Header,
    pub ref_message_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd_id: Option<String>,
    pub result: AckResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_state: Option<JobState>,
    /// (1.1) With `job_state`: how many plates the station has cut for the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Started,
    Progress,
    Finished,
    Failed,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Warning,
    Urgent,
    Critical,
    Fatal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorInfo {
    pub level: Level,
    pub code: String,
    pub message: String,
}

/// What happened to a job (station -> host).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub header: Header,
    /// The station's event number: +1 per event, kept across restarts.
    pub seq: u64,
    pub job_id: String,
    pub revision: u32,
    pub kind: EventKind,
    pub done: u32,
    pub quantity: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Idle,
    Busy,
    Paused,
    Fault,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurrentJob {
    pub job_id: String,
    pub revision: u32,
    pub done: u32,
    pub quantity: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedJob {
    pub job_id: String,
    pub revision: u32,
}

/// A full snapshot of the station (station -> host, retained).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub header: Header,
    pub mode: Mode,
    pub current_job: Option<CurrentJob>,
    pub queue: Vec<QueuedJob>,
    pub queue_limit: u32,
    pub last_event_seq: u64,
    pub errors: Vec<ErrorInfo>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    Online,
    Offline,
    Broken,
}

/// The station's connection (station -> host, retained; the last will says `broken`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub header: Header,
    pub connection: ConnectionState,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versions {
    pub protocol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
}

/// What the station can cut (station -> host, retained).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Factsheet {
    pub header: Header,
    pub shapes: Vec<ShapeKind>,
    pub min_mm: f64,
    pub max_mm: f64,
    pub tolerance_mm: f64,
    pub queue_limit: u32,
    pub versions: Versions,
}

impl Factsheet {
    /// True when the station can cut this shape.
    pub fn covers(&self, shape: &Shape) -> bool {
        if !self.shapes.contains(&shape.kind()) {
            return false;
        }
        match shape.extent_mm() {
            Some((lo, hi)) => lo >= self.min_mm && hi <= self.max_mm,
            None => true,
        }
    }
}

/// konsign's own online flag (host -> all, retained; the last will says `false`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostState {
    pub header: Header,
    pub online: bool,
}

/// Why konsign refused a station's message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostError {
    pub header: Header,
    pub topic: String,
    pub reason: String,
}

/// The station topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    Job,
    Cmd,
    Ack,
    Event,
    State,
    Connection,
    Factsheet,
}

impl Topic {
    pub const ALL: [Topic; 7] = [
        Topic::Job,
        Topic::Cmd,
        Topic::Ack,
        Topic::Event,
        Topic::State,
        Topic::Connection,
        Topic::Factsheet,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Topic::Job => "job",
            Topic::Cmd => "cmd",
            Topic::Ack => "ack",
            Topic::Event => "event",
            Topic::State => "state",
            Topic::Connection => "connection",
            Topic::Factsheet => "factsheet",
        }
    }
    /// Whether the broker keeps the last message of this topic.
    pub fn retained(self) -> bool {
        matches!(self, Topic::State | Topic::Connection | Topic::Factsheet)
    }
}

/// `konsign/v1/{site}/{station}/{topic}`.
pub fn topic(site: &str, station: &str, t: Topic) -> String {
    format!("{PREFIX}/{site}/{station}/{}", t.name())
}

/// `konsign/v1/{site}/_host/{host}/state`.
pub fn host_state_topic(site: &str, host: &str) -> String {
    format!("{PREFIX}/{site}/{HOST_SEGMENT}/{host}/state")
}

/// `konsign/v1/{site}/_host/{host}/error`.
pub fn host_error_topic(site: &str, host: &str) -> String {
    format!("{PREFIX}/{site}/{HOST_SEGMENT}/{host}/error")
}

/// Splits a station topic into (site, station, topic).
pub fn parse_topic(t: &str) -> Option<(&str, &str, Topic)> {
    let rest = t.strip_prefix(PREFIX)?.strip_prefix('/')?;
    let mut parts = rest.split('/');
    let (site, station, name) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || station == HOST_SEGMENT || site.is_empty() || station.is_empty() {
        return None;
    }
    let topic = Topic::ALL.into_iter().find(|x| x.name() == name)?;
    Some((site, station, topic))
}

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("payload of {0} bytes is over the {MAX_PAYLOAD}-byte limit")]
    TooLarge(usize),
    #[error("not a valid message: {0}")]
    Malformed(String),
    #[error("protocol version {0} is not supported (this side speaks {PROTOCOL_VERSION})")]
    UnsupportedVersion(String),
    #[error("the header says {got}, the topic {want}")]
    WrongSender { got: String, want: String },
}

/// Decodes a message from `site`/`station`'s topic: size, JSON, major version, the message's
/// JSON Schema (the files published beside the protocol document, compiled into this crate), and
/// a header that matches the topic. Unknown fields are ignored (the schemas allow them).
pub fn decode<T: Message>(payload: &[u8], site: &str, station: &str) -> Result<T, WireError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(WireError::TooLarge(payload.len()));
    }
    let v: serde_json::Value =
        serde_json::from_slice(payload).map_err(|e| WireError::Malformed(e.to_string()))?;
    // An unknown major version is refused as such, before the schema (of this major) is applied.
    if let Some(version) = v
        .get("header")
        .and_then(|h| h.get("version"))
        .and_then(|x| x.as_str())
    {
        let major = version
            .split('.')
            .next()
            .and_then(|m| m.parse::<u64>().ok());
        if major.is_some_and(|m| m != MAJOR) {
            return Err(WireError::UnsupportedVersion(
                version.chars().take(40).collect(),
            ));
        }
    }
    crate::schema::check(T::SCHEMA, &v).map_err(WireError::Malformed)?;
    let got_site = v["header"]["site"].as_str().unwrap_or("");
    let got_station = v["header"]["station"].as_str().unwrap_or("");
    if got_site != site || got_station != station {
        return Err(WireError::WrongSender {
            got: format!("{got_site}/{got_station}"),
            want: format!("{site}/{station}"),
        });
    }
    serde_json::from_value(v).map_err(|e| WireError::Malformed(e.to_string()))
}

/// A message of this protocol, with the name of its JSON Schema (`schemas/{SCHEMA}.json`).
pub trait Message: DeserializeOwned + Serialize {
    const SCHEMA: &'static str;
}

macro_rules! messages {
    ($($t:ty => $name:literal),* $(,)?) => {
        $( impl Message for $t { const SCHEMA: &'static str = $name; } )*
    };
}

messages!(
    Job => "job",
    Cmd => "cmd",
    Ack => "ack",
    Event => "event",
    State => "state",
    Connection => "connection",
    Factsheet => "factsheet",
    HostState => "host-state",
    HostError => "host-error",
);

/// Encodes a message (it is never over the limit for the messages this crate builds).
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    serde_json::to_vec(msg).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn header() -> Header {
        Header::new("vejle", "cut-1", "b-1", "m-1".into(), 1)
    }

    pub(crate) fn job() -> Job {
        let mut j = Job {
            header: header(),
            job_id: "cj-000001".into(),
            revision: 1,
            content_hash: String::new(),
            line_ref: "L-5c0e8a1f".into(),
            plate: Plate {
                gtin: "05708932000017".into(),
                lot: "CO88721".into(),
                expiry: "2027-12-31".into(),
            },
            quantity: 10,
            shape: Shape::Round { diameter_mm: 32.0 },
            tolerance_mm: 0.5,
            sticker: Sticker {
                product: "Basisplade flad, koblingsring 50 mm".into(),
                cut_spec: "Ø 32 mm".into(),
                line_ref: "L-5c0e8a1f".into(),
            },
        };
        j.content_hash = j.compute_hash();
        j
    }

    #[test]
    fn the_hash_covers_the_content_and_not_the_envelope() {
        let a = job();
        let mut b = a.clone();
        b.header = Header::new("vejle", "cut-1", "b-2", "m-9".into(), 7);
        assert_eq!(a.compute_hash(), b.compute_hash());
        b.quantity = 11;
        assert_ne!(a.compute_hash(), b.compute_hash());
        assert_eq!(a.content_hash.len(), 64);
    }

    #[test]
    fn decoding_checks_size_version_and_sender() {
        let j = job();
        let bytes = encode(&j);
        assert_eq!(decode::<Job>(&bytes, "vejle", "cut-1").unwrap(), j);
        assert!(matches!(
            decode::<Job>(&bytes, "vejle", "cut-2"),
            Err(WireError::WrongSender { .. })
        ));
        let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        v["header"]["version"] = "2.0.0".into();
        v["some_future_field"] = 1.into();
        assert!(matches!(
            decode::<Job>(&serde_json::to_vec(&v).unwrap(), "vejle", "cut-1"),
            Err(WireError::UnsupportedVersion(_))
        ));
        v["header"]["version"] = "1.4.0".into();
        assert!(
            decode::<Job>(&serde_json::to_vec(&v).unwrap(), "vejle", "cut-1").is_ok(),
            "unknown fields are ignored, minor versions accepted"
        );
        assert!(matches!(
            decode::<Job>(b"{not json", "vejle", "cut-1"),
            Err(WireError::Malformed(_))
        ));
        assert!(matches!(
            decode::<Job>(&vec![b' '; MAX_PAYLOAD + 1], "vejle", "cut-1"),
            Err(WireError::TooLarge(_))
        ));
    }

    #[test]
    fn topics_round_trip() {
        let t = topic("vejle", "cut-1", Topic::Event);
        assert_eq!(t, "konsign/v1/vejle/cut-1/event");
        assert_eq!(parse_topic(&t), Some(("vejle", "cut-1", Topic::Event)));
        assert_eq!(parse_topic("konsign/v1/vejle/_host/h1/state"), None);
        assert_eq!(parse_topic("konsign/v2/vejle/cut-1/event"), None);
        assert_eq!(parse_topic("konsign/v1/vejle/cut-1/event/x"), None);
    }

    #[test]
    fn a_factsheet_covers_shapes_and_sizes() {
        let f = Factsheet {
            header: header(),
            shapes: vec![ShapeKind::Round, ShapeKind::Oval],
            min_mm: 10.0,
            max_mm: 70.0,
            tolerance_mm: 0.5,
            queue_limit: 3,
            versions: Versions {
                protocol: PROTOCOL_VERSION.into(),
                bridge: None,
                firmware: None,
            },
        };
        assert!(f.covers(&Shape::Round { diameter_mm: 32.0 }));
        assert!(!f.covers(&Shape::Round { diameter_mm: 80.0 }));
        assert!(!f.covers(&Shape::Custom {
            template_id: "t".into(),
            template_version: 1
        }));
        assert!(f.covers(&Shape::Oval {
            width_mm: 30.0,
            height_mm: 25.0,
            rotation_deg: 0.0
        }));
    }
}
