//! PostNord's wire format, I/O-free: the EDI instruction konsign sends to the booking API
//! (shipment REST v3, `POST /v3/edi/labels/zpl`), and the reading of its answers (booking with
//! labels, labels by id, faults), each answer classed as the carrier port wants it
//! (track-and-trace is read in `track`). Shapes follow PostNord's published API description (booking v3.5.29.1); the JSON
//! Schema konsign's requests are checked against is in `docs/carriers/`.

use crate::carrier::{Booked, BookingRequest, CarrierError, CarrierLabel, ParcelOutcome};
use crate::domain::carrier::Failure;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

/// PostNord Denmark, the issuer of the customer number.
pub const ISSUER_DK: &str = "Z11";
/// Additional services: notification by SMS and by e-mail.
pub const SMS: &str = "A3";
pub const EMAIL: &str = "A4";
/// The home and service point services that take notification.
const NOTIFIED: [&str; 3] = ["17", "19", "30"];

/// Who sends: the warehouse, under its PostNord customer number.
#[derive(Debug, Clone)]
pub struct Consignor<'a> {
    pub customer_number: &'a str,
    pub name: &'a str,
    pub street: &'a str,
    pub postcode: &'a str,
    pub city: &'a str,
    pub application_id: Option<i64>,
    pub test_indicator: bool,
}

/// PostNord's item id for a parcel: "00" and the SSCC.
pub fn item_id(sscc: &str) -> String {
    format!("00{sscc}")
}

/// A Danish phone number as PostNord's SMS number (`+45` before eight digits).
fn sms_no(phone: &str) -> String {
    let digits: String = phone.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit()) {
        format!("+45{digits}")
    } else {
        digits
    }
}

/// The additional services of a parcel: the rule's, and SMS and e-mail notification where the
/// order has a phone number or an address and the service takes it.
pub fn additional_services(r: &BookingRequest) -> Vec<String> {
    let mut v = r.additional.clone();
    if NOTIFIED.contains(&r.service.as_str()) {
        if r.phone.as_deref().is_some_and(|p| !p.trim().is_empty()) {
            v.push(SMS.into());
        }
        if r.email.as_deref().is_some_and(|e| !e.trim().is_empty()) {
            v.push(EMAIL.into());
        }
    }
    let mut seen = std::collections::HashSet::new();
    v.retain(|a| seen.insert(a.clone()));
    v
}

fn cut(s: &str, max: usize) -> String {
    s.trim().chars().take(max).collect()
}

/// One shipment of the EDI instruction: one parcel, its SSCC the item id.
fn shipment(r: &BookingRequest, c: &Consignor, now: DateTime<Utc>) -> Value {
    let kg = r.weight_g.max(1) as f64 / 1000.0;
    let cm = |mm: u32| f64::from(mm) / 10.0;
    let mut contact = serde_json::Map::new();
    contact.insert("contactName".into(), json!(cut(&r.recipient_name, 35)));
    if let Some(p) = r.phone.as_deref().filter(|p| !p.trim().is_empty()) {
        contact.insert("phoneNo".into(), json!(cut(p, 50)));
        contact.insert("smsNo".into(), json!(cut(&sms_no(p), 50)));
    }
    if let Some(e) = r.email.as_deref().filter(|e| !e.trim().is_empty()) {
        contact.insert("emailAddress".into(), json!(cut(e, 70)));
    }
    let streets: Vec<String> = r
        .address_lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| cut(l, 50))
        .collect();
    json!({
        "shipmentIdentification": { "shipmentId": "0" },
        "dateAndTimes": { "loadingDate": now.format("%Y-%m-%dT%H:%M:%SZ").to_string() },
        "service": {
            "basicServiceCode": r.service,
            "additionalServiceCode": additional_services(r),
        },
        "numberOfPackages": { "value": 1 },
        "totalGrossWeight": { "value": kg, "unit": "KGM" },
        "references": [ { "referenceNo": cut(&r.order_ref, 35), "referenceType": "CU" } ],
        "parties": {
            "consignor": {
                "issuerCode": ISSUER_DK,
                "partyIdentification": { "partyId": c.customer_number, "partyIdType": "160" },
                "party": {
                    "nameIdentification": { "name": cut(c.name, 35) },
                    "address": {
                        "streets": [ cut(c.street, 50) ],
                        "postalCode": c.postcode,
                        "city": cut(c.city, 35),
                        "countryCode": "DK",
                    },
                },
            },
            "consignee": {
                "party": {
                    "nameIdentification": { "name": cut(&r.recipient_name, 35) },
                    "address": {
                        "streets": streets,
                        "postalCode": r.postcode.trim(),
                        "city": cut(&r.city, 35),
                        "countryCode": cut(&r.country, 2),
                    },
                    "contact": contact,
                },
            },
        },
        "goodsItem": [ {
            "packageTypeCode": "PC",
            "numberOfPackageTypeCodeItems": { "value": 1 },
            "items": [ {
                "itemIdentification": { "itemId": item_id(&r.sscc), "itemIdType": "SSCC" },
                "grossWeight": { "value": kg, "unit": "KGM" },
                "dimensions": {
                    "length": { "value": cm(r.length_mm), "unit": "CMT" },
                    "width": { "value": cm(r.width_mm), "unit": "CMT" },
                    "height": { "value": cm(r.height_mm), "unit": "CMT" },
                },
            } ],
        } ],
    })
}

/// The EDI instruction booking `batch` (one shipment each).
pub fn edi_instruction(batch: &[BookingRequest], c: &Consignor, now: DateTime<Utc>) -> Value {
    let mut app = json!({ "name": "konsign", "version": env!("CARGO_PKG_VERSION") });
    if let Some(id) = c.application_id {
        app["applicationId"] = json!(id);
    }
    json!({
        "messageDate": now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "messageFunction": "Instruction",
        "messageId": batch.first().map(|r| cut(&r.request_id, 35)).unwrap_or_default(),
        "application": app,
        "language": "DA",
        "updateIndicator": "Original",
        "testIndicator": c.test_indicator,
        "shipment": batch.iter().map(|r| shipment(r, c, now)).collect::<Vec<_>>(),
    })
}

/// The body of a labels-by-id request (a reprint, or finding a booking).
pub fn label_ids(sscc: &str) -> Value {
    json!([ { "id": item_id(sscc), "labelType": "standard" } ])
}

// ---- answers ----

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Fault {
    explanation_text: Option<String>,
    fault_code: Option<String>,
    fault_references: Option<Vec<KeyValue>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct KeyValue {
    key: Option<String>,
    value: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct CompositeFault {
    faults: Option<Vec<Fault>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ErrorResponse {
    message: Option<String>,
    composite_fault: Option<CompositeFault>,
}

/// The API gateway's own envelope (`{"error": {...}}`), for refused keys and rate limits.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct GatewayError {
    error: Option<GatewayInner>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct GatewayInner {
    message: Option<String>,
    error_type: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct AssignedId {
    id_type: Option<String>,
    value: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct Url {
    #[serde(rename = "type")]
    kind: Option<String>,
    url: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct IdInfo {
    status: Option<String>,
    ids: Option<Vec<AssignedId>>,
    urls: Option<Vec<Url>>,
    error_response: Option<ErrorResponse>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct BookingResponse {
    booking_id: Option<String>,
    id_information: Option<Vec<IdInfo>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Printout {
    label_format: Option<String>,
    encoding: Option<String>,
    data: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ItemIdEntry {
    item_ids: Option<String>,
    status: Option<String>,
    error_response: Option<ErrorResponse>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct LabelPrintout {
    item_ids: Option<Vec<ItemIdEntry>>,
    printout: Option<Printout>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct EdiLabelResponse {
    booking_response: Option<BookingResponse>,
    label_printout: Option<Vec<LabelPrintout>>,
}

fn faults_text(e: &ErrorResponse) -> String {
    let faults: Vec<String> = e
        .composite_fault
        .iter()
        .flat_map(|c| c.faults.iter().flatten())
        .map(|f| {
            let sub = f
                .fault_references
                .iter()
                .flatten()
                .find(|k| k.key.as_deref().is_some_and(|k| k.ends_with("subType")))
                .and_then(|k| k.value.clone())
                .or_else(|| f.fault_code.clone());
            match sub {
                Some(code) => format!(
                    "{} ({code})",
                    f.explanation_text.as_deref().unwrap_or("fault")
                ),
                None => f.explanation_text.clone().unwrap_or_else(|| "fault".into()),
            }
        })
        .collect();
    match (&e.message, faults.is_empty()) {
        (Some(m), true) => m.clone(),
        (Some(m), false) => format!("{m}: {}", faults.join("; ")),
        (None, false) => faults.join("; "),
        (None, true) => "no reason given".into(),
    }
}

/// The carrier's words in an error body, whichever envelope it used (at most 500 characters).
fn error_text(body: &[u8]) -> String {
    let text = if let Ok(g) = serde_json::from_slice::<GatewayError>(body) {
        g.error.map(|e| {
            format!(
                "{}{}",
                e.error_type.map(|t| format!("{t}: ")).unwrap_or_default(),
                e.message.unwrap_or_default()
            )
        })
    } else {
        None
    };
    let text = text.or_else(|| {
        serde_json::from_slice::<ErrorResponse>(body)
            .ok()
            .filter(|e| e.message.is_some() || e.composite_fault.is_some())
            .map(|e| faults_text(&e))
    });
    let text = text.unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
    text.chars().take(500).collect()
}

/// The class of an answer that was not a success.
pub fn failure(status: u16, retry_after_s: Option<i64>, body: &[u8]) -> CarrierError {
    let msg = |m: &str| format!("HTTP {status}: {m}");
    let text = error_text(body);
    match status {
        400 | 422 => CarrierError::new(Failure::Rejected, msg(&text)),
        // A refused key, or an address that is not PostNord's API: nothing will work until a
        // person fixes the configuration.
        401 | 403 | 404 | 405 => CarrierError::new(Failure::Unauthorized, msg(&text)),
        429 => CarrierError::new(
            Failure::Transient {
                retry_after: retry_after_s.map(chrono::Duration::seconds),
            },
            msg(&text),
        ),
        _ => CarrierError::new(Failure::Transient { retry_after: None }, msg(&text)),
    }
}

fn label_of(p: &Printout) -> Option<CarrierLabel> {
    let data = p.data.as_deref()?;
    let format = p
        .label_format
        .as_deref()
        .unwrap_or("ZPL")
        .to_ascii_lowercase();
    let data = if format == "zpl"
        && p.encoding
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case("base64"))
    {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .ok()?;
        String::from_utf8(bytes).ok()?
    } else {
        data.to_string()
    };
    Some(CarrierLabel { format, data })
}

/// Reads a successful booking answer: one outcome for each parcel of `batch`. A parcel the
/// answer does not account for comes out `Partial` (it may be booked: it is looked up).
pub fn booking_answer(
    batch: &[BookingRequest],
    body: &[u8],
) -> Result<Vec<ParcelOutcome>, CarrierError> {
    let r: EdiLabelResponse = serde_json::from_slice(body).map_err(|e| {
        // A success we cannot read may still be a booking.
        CarrierError::new(
            Failure::Ambiguous,
            format!("unreadable booking answer: {e}"),
        )
    })?;
    let br = r.booking_response.unwrap_or_default();
    let infos = br.id_information.unwrap_or_default();
    let printouts = r.label_printout.unwrap_or_default();
    let mut out = Vec::with_capacity(batch.len());
    for (i, req) in batch.iter().enumerate() {
        let want = item_id(&req.sscc);
        let has = |info: &IdInfo| {
            info.ids.iter().flatten().any(|id| {
                id.id_type.as_deref() == Some("itemId")
                    && id.value.as_deref() == Some(want.as_str())
            })
        };
        // The answer for this shipment: by its item id, else (failures carry no ids) by place.
        let info = infos.iter().find(|x| has(x)).or_else(|| {
            (infos.len() == batch.len())
                .then(|| &infos[i])
                .filter(|x| x.ids.as_ref().is_none_or(|v| v.is_empty()))
        });
        let result = match info {
            Some(x) if x.status.as_deref() == Some("OK") => {
                let url = x
                    .urls
                    .iter()
                    .flatten()
                    .find(|u| u.kind.as_deref() == Some("TRACKING"))
                    .and_then(|u| u.url.clone());
                let label = printouts
                    .iter()
                    .find(|p| {
                        p.item_ids
                            .iter()
                            .flatten()
                            .any(|e| e.item_ids.as_deref() == Some(want.as_str()))
                    })
                    .or_else(|| (batch.len() == 1 && printouts.len() == 1).then(|| &printouts[0]))
                    .and_then(|p| p.printout.as_ref())
                    .and_then(label_of);
                Ok(Booked {
                    tracking_number: want.clone(),
                    tracking_url: url,
                    booking_ref: br.booking_id.clone(),
                    label,
                })
            }
            Some(x) => Err(CarrierError::new(
                Failure::Rejected,
                x.error_response.as_ref().map_or_else(
                    || format!("status {}", x.status.as_deref().unwrap_or("?")),
                    faults_text,
                ),
            )),
            None => Err(CarrierError::new(
                Failure::Partial,
                "the booking answer does not mention this parcel",
            )),
        };
        out.push(ParcelOutcome {
            sscc: req.sscc.clone(),
            result,
        });
    }
    Ok(out)
}

/// Reads a labels-by-id answer for one parcel: its label when PostNord has the booking,
/// `None` when it says it has none.
pub fn labels_answer(
    sscc: &str,
    status: u16,
    body: &[u8],
) -> Result<Option<CarrierLabel>, CarrierError> {
    if status == 404 {
        return Ok(None);
    }
    if !(200..300).contains(&status) {
        return Err(failure(status, None, body));
    }
    let r: Vec<LabelPrintout> = serde_json::from_slice(body).map_err(|e| {
        CarrierError::new(Failure::Ambiguous, format!("unreadable label answer: {e}"))
    })?;
    let want = item_id(sscc);
    let mine = r.iter().find(|p| {
        p.item_ids
            .iter()
            .flatten()
            .any(|e| e.item_ids.as_deref() == Some(want.as_str()))
    });
    let Some(p) = mine else {
        return Ok(None);
    };
    let entry = p
        .item_ids
        .iter()
        .flatten()
        .find(|e| e.item_ids.as_deref() == Some(want.as_str()));
    if entry.is_some_and(|e| e.status.as_deref() == Some("FAIL")) {
        if let Some(e) = entry.and_then(|e| e.error_response.as_ref()) {
            tracing::debug!(sscc, reason = %faults_text(e), "PostNord has no label for this parcel");
        }
        return Ok(None);
    }
    Ok(p.printout.as_ref().and_then(label_of))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(sscc: &str) -> BookingRequest {
        BookingRequest {
            request_id: "bk-1-1".into(),
            sscc: sscc.into(),
            service: "17".into(),
            additional: vec![],
            weight_g: 1234,
            length_mm: 250,
            width_mm: 180,
            height_mm: 100,
            order_ref: "W-1".into(),
            recipient_name: "Karen Jensen".into(),
            address_lines: vec!["Søndergade 1".into(), "2. tv".into()],
            postcode: "8000".into(),
            city: "Aarhus C".into(),
            country: "DK".into(),
            phone: Some("20 30 40 50".into()),
            email: Some("karen@example.dk".into()),
        }
    }

    const SSCC: &str = "057900020000000017";

    #[test]
    fn the_instruction_carries_the_sscc_as_item_id_in_kilograms_and_centimetres() {
        let c = Consignor {
            customer_number: "12345678",
            name: "Konsignationslager Vejle",
            street: "Industrivej 10",
            postcode: "7100",
            city: "Vejle",
            application_id: None,
            test_indicator: true,
        };
        let v = edi_instruction(&[req(SSCC)], &c, Utc::now());
        let s = &v["shipment"][0];
        assert_eq!(v["testIndicator"], true);
        assert_eq!(v["updateIndicator"], "Original");
        assert_eq!(
            s["goodsItem"][0]["items"][0]["itemIdentification"]["itemId"],
            format!("00{SSCC}")
        );
        assert_eq!(s["goodsItem"][0]["items"][0]["grossWeight"]["value"], 1.234);
        assert_eq!(
            s["goodsItem"][0]["items"][0]["dimensions"]["length"]["value"],
            25.0
        );
        assert_eq!(s["parties"]["consignor"]["issuerCode"], "Z11");
        assert_eq!(
            s["parties"]["consignee"]["party"]["contact"]["smsNo"],
            "+4520304050"
        );
        assert_eq!(s["service"]["additionalServiceCode"], json!(["A3", "A4"]));
        assert_eq!(
            s["parties"]["consignee"]["party"]["address"]["streets"],
            json!(["Søndergade 1", "2. tv"])
        );
    }

    #[test]
    fn a_created_booking_gives_tracking_url_and_the_decoded_zpl_label() {
        let out = booking_answer(
            &[req(SSCC)],
            include_bytes!("../../../tests/fixtures/postnord/booking_created.json"),
        )
        .unwrap();
        let b = out[0].result.as_ref().unwrap();
        assert_eq!(b.tracking_number, format!("00{SSCC}"));
        assert_eq!(b.booking_ref.as_deref(), Some("7B2QX9M4K1"));
        assert!(b
            .tracking_url
            .as_deref()
            .unwrap()
            .contains("postnord.com/dk"));
        let l = b.label.as_ref().unwrap();
        assert_eq!(l.format, "zpl");
        assert!(l.data.starts_with("^XA"), "{}", l.data);
    }

    #[test]
    fn a_partial_answer_books_one_and_rejects_the_other_with_its_reason() {
        let other = "057900020000000024";
        let out = booking_answer(
            &[req(SSCC), req(other)],
            include_bytes!("../../../tests/fixtures/postnord/booking_partial.json"),
        )
        .unwrap();
        assert!(out[0].result.is_ok());
        let e = out[1].result.as_ref().unwrap_err();
        assert_eq!(e.class, Failure::Rejected);
        assert!(e.message.contains("WEIGHT_LIMIT"), "{}", e.message);
        // An answer that does not mention a parcel leaves it to be looked up.
        let out = booking_answer(
            &[req(other)],
            include_bytes!("../../../tests/fixtures/postnord/booking_created.json"),
        )
        .unwrap();
        assert_eq!(out[0].result.as_ref().unwrap_err().class, Failure::Partial);
        // An unreadable success may be a booking.
        assert_eq!(
            booking_answer(&[req(SSCC)], b"{not json")
                .unwrap_err()
                .class,
            Failure::Ambiguous
        );
    }

    #[test]
    fn faults_and_statuses_fall_into_the_port_classes() {
        let f = failure(
            400,
            None,
            include_bytes!("../../../tests/fixtures/postnord/booking_fault.json"),
        );
        assert_eq!(f.class, Failure::Rejected);
        assert!(f.message.contains("POSTAL_CODE"), "{}", f.message);
        let f = failure(
            403,
            None,
            include_bytes!("../../../tests/fixtures/postnord/gateway_403.json"),
        );
        assert_eq!(f.class, Failure::Unauthorized);
        assert!(f.message.contains("Invalid API Key"), "{}", f.message);
        assert_eq!(
            failure(429, Some(7), b"").class,
            Failure::Transient {
                retry_after: Some(chrono::Duration::seconds(7))
            }
        );
        assert_eq!(
            failure(503, None, b"<html>").class,
            Failure::Transient { retry_after: None }
        );
    }

    #[test]
    fn a_label_answer_finds_the_booking_or_says_there_is_none() {
        let body = br#"[{"itemIds":[{"itemIds":"00057900020000000017","status":"OK"}],
            "printout":{"labelFormat":"ZPL","encoding":"base64","data":"XlhBXlha"}}]"#;
        assert_eq!(
            labels_answer(SSCC, 200, body).unwrap().unwrap().data,
            "^XA^XZ"
        );
        assert_eq!(labels_answer(SSCC, 404, b"{}").unwrap(), None);
        assert_eq!(
            labels_answer("057900020000000024", 200, body).unwrap(),
            None
        );
        assert_eq!(
            labels_answer(SSCC, 503, b"").unwrap_err().class,
            Failure::Transient { retry_after: None }
        );
    }
}
