//! A PostNord test double: an HTTP server on loopback shaped after PostNord's published API
//! (booking v3 with ZPL labels, labels by id, track-and-trace v7), for tests, benchmarks and a
//! person running the warehouse on one laptop (`konsign simulate carrier`). Like the real API
//! it is not idempotent: the same parcel sent twice is booked twice, and the double counts it,
//! so a test can prove konsign never does that. Faults are scripted for the next requests:
//! validation faults, partial answers, refused keys, rate limits, 5xx, and hanging before or
//! after the request is read.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the double does with the next booking request.
#[derive(Debug, Clone, PartialEq)]
pub enum Behaviour {
    /// Books (the default when nothing is scripted).
    Book,
    /// 400 with a validation fault for every shipment.
    Fault,
    /// Books every shipment but the last, which fails inline (a mixed answer).
    Partial,
    /// Answers this status with PostNord's envelope for it (401, 403, 503, ...).
    Status(u16),
    /// 429 with `Retry-After` seconds.
    TooMany(u64),
    /// Waits this long without reading the request, then drops it: nothing is booked.
    HangBeforeRead(Duration),
    /// Reads the request and books it, then waits this long before answering.
    HangAfterRead(Duration),
}

#[derive(Debug, Clone)]
struct Booking {
    booking_id: String,
    label: String,
    events: Vec<Value>,
}

#[derive(Default)]
struct Inner {
    api_key: String,
    script: VecDeque<Behaviour>,
    /// Every booking made, duplicates included: item id -> bookings.
    booked: HashMap<String, Vec<Booking>>,
    /// Every request body received on the booking call.
    requests: Vec<Value>,
    down: bool,
    latency: Duration,
    lookups: usize,
    seq: u64,
}

/// A running double; stops when dropped.
pub struct Double {
    addr: std::net::SocketAddr,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Double {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Double {
    /// Starts the double on `listen` (`127.0.0.1:0` for any port), taking `api_key`.
    pub async fn start(listen: &str, api_key: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Mutex::new(Inner {
            api_key: api_key.into(),
            ..Default::default()
        }));
        let app = Router::new()
            .route("/rest/shipment/v3/edi/labels/zpl", post(book))
            .route("/rest/shipment/v3/labels/ids/zpl", post(labels))
            .route("/rest/shipment/v7/trackandtrace/id/{id}/public", get(track))
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, inner, task })
    }

    /// The base URL to configure as `carrier.postnord.base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Scripts what the next booking requests meet.
    pub fn script(&self, b: impl IntoIterator<Item = Behaviour>) {
        self.inner.lock().unwrap().script.extend(b);
    }

    /// Down: every call answers 503 until up again.
    pub fn set_down(&self, down: bool) {
        self.inner.lock().unwrap().down = down;
    }

    /// Answers every booking this much later.
    pub fn set_latency(&self, d: Duration) {
        self.inner.lock().unwrap().latency = d;
    }

    /// How many bookings the double holds for the SSCC (more than one is a double booking).
    pub fn bookings_of(&self, sscc: &str) -> usize {
        let g = self.inner.lock().unwrap();
        g.booked.get(&format!("00{sscc}")).map_or(0, Vec::len)
    }

    /// The parcels booked, and how many were booked more than once.
    pub fn counts(&self) -> (usize, usize) {
        let g = self.inner.lock().unwrap();
        let twice = g.booked.values().filter(|v| v.len() > 1).count();
        (g.booked.len(), twice)
    }

    /// Every booking request body received.
    pub fn requests(&self) -> Vec<Value> {
        self.inner.lock().unwrap().requests.clone()
    }

    pub fn lookups(&self) -> usize {
        self.inner.lock().unwrap().lookups
    }

    /// Adds a tracking event to a booked parcel (PostNord status such as `EN_ROUTE`,
    /// `DELIVERED`), as track-and-trace will show it.
    pub fn add_event(&self, sscc: &str, code: &str, status: &str, text: &str) -> bool {
        let mut g = self.inner.lock().unwrap();
        let Some(b) = g
            .booked
            .get_mut(&format!("00{sscc}"))
            .and_then(|v| v.last_mut())
        else {
            return false;
        };
        let at = chrono::Utc::now()
            .with_timezone(&chrono_tz::Europe::Copenhagen)
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string();
        b.events.push(event(code, status, text, &at));
        true
    }
}

/// `konsign simulate carrier`: the double until Ctrl-C, driven from stdin.
pub async fn run_interactive(listen: &str, api_key: &str) -> anyhow::Result<()> {
    let d = Double::start(listen, api_key)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    eprintln!(
        "PostNord test double on {}; type down, up, fault, slow, deliver <sscc> or status",
        d.base_url()
    );
    let mut lines =
        tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(tokio::io::stdin()));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            line = lines.next_line() => {
                let Ok(Some(line)) = line else {
                    tokio::signal::ctrl_c().await?;
                    break;
                };
                let mut words = line.split_whitespace();
                match (words.next(), words.next()) {
                    (Some("down"), _) => d.set_down(true),
                    (Some("up"), _) => d.set_down(false),
                    (Some("fault"), _) => d.script([Behaviour::Fault]),
                    (Some("slow"), _) => d.set_latency(Duration::from_millis(500)),
                    (Some("deliver"), Some(sscc)) => {
                        if !d.add_event(sscc, "C20", "DELIVERED", "Forsendelsen er leveret") {
                            eprintln!("no booking of {sscc}");
                        }
                    }
                    (Some("status") | None, _) => {}
                    (Some(other), _) => eprintln!("unknown command {other:?}"),
                }
                let (booked, twice) = d.counts();
                eprintln!("booked {booked} parcels ({twice} more than once), {} requests", d.requests().len());
            }
        }
    }
    Ok(())
}

fn event(code: &str, status: &str, text: &str, at: &str) -> Value {
    json!({ "eventTime": at, "eventCode": code, "eventDescription": text, "status": status,
            "location": { "name": "PostNord Terminal", "city": "Fredericia", "postcode": "7000", "countryCode": "DK" } })
}

/// A track-and-trace answer for one item with its events, in PostNord's v7 shape.
pub fn tracking_body(item_id: &str, events: &[Value]) -> Value {
    let status = events
        .last()
        .and_then(|e| e["status"].as_str())
        .unwrap_or("CREATED");
    json!({ "TrackingInformationResponse": { "shipments": [ {
        "shipmentId": item_id, "assessedNumberOfItems": 1, "status": status,
        "items": [ { "itemId": item_id, "status": status, "eventStatus": status, "events": events } ] } ] } })
}

/// A track-and-trace event for a pushed message (times in Copenhagen local time, as PostNord
/// writes them).
pub fn push_event(
    code: &str,
    status: &str,
    text: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Value {
    let at = at
        .with_timezone(&chrono_tz::Europe::Copenhagen)
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    event(code, status, text, &at)
}

fn gateway(status: u16, kind: &str, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        axum::Json(
            json!({ "error": { "status_code": status, "error_type": kind, "message": message } }),
        ),
    )
        .into_response()
}

fn fault(text: &str, sub: &str) -> Value {
    json!({ "message": "Invalid indata object EdiInstruction", "compositeFault": { "faults": [
        { "explanationText": text, "faultReferences": [
            { "key": "CustomerOriginValidationError.type", "value": "MANDATORY_FIELDS_MISSING" },
            { "key": "CustomerOriginValidationError.subType", "value": sub } ] } ] } })
}

/// A 100 x 150 mm ZPL label like PostNord's: service, recipient, and the item id as GS1-128.
fn label_zpl(shipment: &Value, item_id: &str) -> String {
    let consignee = &shipment["parties"]["consignee"]["party"];
    let name = consignee["nameIdentification"]["name"]
        .as_str()
        .unwrap_or("");
    let postcode = consignee["address"]["postalCode"].as_str().unwrap_or("");
    let city = consignee["address"]["city"].as_str().unwrap_or("");
    let service = shipment["service"]["basicServiceCode"]
        .as_str()
        .unwrap_or("");
    let clean = |s: &str| {
        s.chars()
            .filter(|c| !matches!(c, '^' | '~'))
            .collect::<String>()
    };
    let sscc = item_id.strip_prefix("00").unwrap_or(item_id);
    let bars = crate::labels::code128::encode(&format!("(00){sscc}"), true)
        .map(|e| e.field_data)
        .unwrap_or_default();
    format!(
        "^XA^CI28^PW800^LL1200\n^FO40,40^A0N,50,50^FDPostNord^FS\n^FO40,110^A0N,34,34^FDService {}^FS\n\
         ^FO40,200^A0N,34,34^FD{}^FS\n^FO40,245^A0N,34,34^FD{} {}^FS\n\
         ^FO60,700^BY3^BCN,220,N,N,N^FD{bars}^FS\n^FO60,940^A0N,30,30^FD(00) {sscc}^FS\n^XZ\n",
        clean(service),
        clean(name),
        clean(postcode),
        clean(city),
    )
}

async fn book(
    State(s): State<Arc<Mutex<Inner>>>,
    Query(q): Query<HashMap<String, String>>,
    req: axum::extract::Request,
) -> Response {
    let (behaviour, down, latency, key_ok) = {
        let mut g = s.lock().unwrap();
        let key_ok = q.get("apikey") == Some(&g.api_key);
        (
            g.script.pop_front().unwrap_or(Behaviour::Book),
            g.down,
            g.latency,
            key_ok,
        )
    };
    if let Behaviour::HangBeforeRead(d) = behaviour {
        tokio::time::sleep(d).await;
        return StatusCode::GATEWAY_TIMEOUT.into_response();
    }
    let Ok(body) = axum::body::to_bytes(req.into_body(), 8 * 1024 * 1024).await else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "message": "request too large" })),
        )
            .into_response();
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if down {
        return gateway(
            503,
            "Service Unavailable",
            "The service is temporarily unavailable",
        );
    }
    if !key_ok {
        return gateway(403, "Forbidden", "Invalid API Key");
    }
    match behaviour {
        Behaviour::Status(401) => {
            return gateway(
                401,
                "Unauthorized",
                "Authentication token is missing/invalid",
            )
        }
        Behaviour::Status(403) => return gateway(403, "Forbidden", "Invalid API Key"),
        Behaviour::Status(code) => {
            return gateway(code, "Service Unavailable", "Temporarily unavailable")
        }
        Behaviour::TooMany(secs) => {
            let mut r = gateway(429, "Too Many Requests", "Rate limit exceeded");
            r.headers_mut().insert("retry-after", secs.into());
            return r;
        }
        _ => {}
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(fault("The request is not JSON", "JSON")),
        )
            .into_response();
    };
    let shipments = v["shipment"].as_array().cloned().unwrap_or_default();
    s.lock().unwrap().requests.push(v);
    if behaviour == Behaviour::Fault || shipments.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(fault(
                "itemIdentification is a required field",
                "ITEM_IDENTIFICATION",
            )),
        )
            .into_response();
    }
    let mut infos = Vec::new();
    let mut printouts = Vec::new();
    let (booking_id, n) = {
        let mut g = s.lock().unwrap();
        g.seq += 1;
        (format!("BOOK-{}", g.seq), shipments.len())
    };
    for (i, sh) in shipments.iter().enumerate() {
        let item = sh["goodsItem"][0]["items"][0]["itemIdentification"]["itemId"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let weight = sh["goodsItem"][0]["items"][0]["grossWeight"]["value"]
            .as_f64()
            .unwrap_or(0.0);
        let fails =
            (behaviour == Behaviour::Partial && i + 1 == n) || item.len() != 20 || weight > 20.0;
        if fails {
            let why = if weight > 20.0 {
                ("grossWeight exceeds maximum for service", "WEIGHT_LIMIT")
            } else {
                ("The address could not be validated", "ADDRESS")
            };
            infos.push(json!({ "status": "FAIL", "ids": null, "urls": null,
                "errorResponse": { "message": "Validation failed", "compositeFault": { "faults": [ { "explanationText": why.0,
                    "faultReferences": [ { "key": "CustomerValidationError.subType", "value": why.1 } ] } ] } } }));
            continue;
        }
        let label = label_zpl(sh, &item);
        use base64::Engine as _;
        printouts.push(json!({ "itemIds": [ { "itemIds": item, "status": "OK" } ],
            "printout": { "type": "LABEL", "labelFormat": "ZPL", "encoding": "base64",
                          "data": base64::engine::general_purpose::STANDARD.encode(&label) } }));
        infos.push(json!({ "status": "OK",
            "ids": [ { "idType": "itemId", "value": item, "printId": format!("P{i}") } ],
            "urls": [ { "type": "TRACKING", "url": format!("https://tracking.postnord.com/dk/?id={item}") } ] }));
        let at = chrono::Utc::now()
            .with_timezone(&chrono_tz::Europe::Copenhagen)
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string();
        s.lock()
            .unwrap()
            .booked
            .entry(item)
            .or_default()
            .push(Booking {
                booking_id: booking_id.clone(),
                label,
                events: vec![event("C01", "INFORMED", "Forsendelsen er anmeldt", &at)],
            });
    }
    if let Behaviour::HangAfterRead(d) = behaviour {
        tokio::time::sleep(d).await;
    }
    (StatusCode::CREATED, axum::Json(json!({ "bookingResponse": { "bookingId": booking_id, "idInformation": infos }, "labelPrintout": printouts }))).into_response()
}

async fn labels(
    State(s): State<Arc<Mutex<Inner>>>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let mut g = s.lock().unwrap();
    g.lookups += 1;
    if g.down {
        return gateway(
            503,
            "Service Unavailable",
            "The service is temporarily unavailable",
        );
    }
    if q.get("apikey") != Some(&g.api_key) {
        return gateway(403, "Forbidden", "Invalid API Key");
    }
    let ids: Vec<String> = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|x| x["id"].as_str().map(String::from))
        .collect();
    let found: Vec<Value> = ids
        .iter()
        .filter_map(|id| g.booked.get(id).and_then(|v| v.last()).map(|b| (id, b)))
        .map(|(id, b)| {
            use base64::Engine as _;
            json!({ "itemIds": [ { "itemIds": id, "status": "OK" } ], "printout": { "type": "LABEL", "labelFormat": "ZPL",
                    "encoding": "base64", "data": base64::engine::general_purpose::STANDARD.encode(&b.label) },
                    "bookingId": b.booking_id })
        })
        .collect();
    if found.is_empty() {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "message": "No labels found for the requested ids" })),
        )
            .into_response();
    }
    (StatusCode::OK, axum::Json(Value::Array(found))).into_response()
}

async fn track(
    State(s): State<Arc<Mutex<Inner>>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    _h: HeaderMap,
) -> Response {
    let g = s.lock().unwrap();
    if g.down {
        return gateway(
            503,
            "Service Unavailable",
            "The service is temporarily unavailable",
        );
    }
    if q.get("apikey") != Some(&g.api_key) {
        return gateway(403, "Forbidden", "Invalid API Key");
    }
    match g.booked.get(&id).and_then(|v| v.last()) {
        Some(b) => (StatusCode::OK, axum::Json(tracking_body(&id, &b.events))).into_response(),
        None => (
            StatusCode::OK,
            axum::Json(json!({ "TrackingInformationResponse": { "shipments": [] } })),
        )
            .into_response(),
    }
}
