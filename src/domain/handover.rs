//! Handing parcels over to the carrier: what a scan at the cage names (a parcel's SSCC from its
//! GS1-128 label, typed or scanned) and whether that parcel may go on this cage. Pure.

use super::gs1;
use super::packing::{refuse, Refusal};
use super::sscc::Sscc;
use super::Unreadable;
use chrono::NaiveDate;

/// Reads the SSCC a scan names: a GS1 element string or bracket form with AI 00 (with or without
/// an AIM id), or the 18 digits alone.
pub fn read_sscc(input: &[u8], today: NaiveDate) -> Result<Sscc, Unreadable> {
    let not_sscc = |e: super::Invalid| {
        Unreadable::new(
            e.message,
            "Ugyldigt SSCC: 18 cifre med et kontrolciffer, der passer",
        )
    };
    let text = std::str::from_utf8(input)
        .map_err(|_| Unreadable::new("not a parcel label", "Det er ikke en pakkelabel"))?;
    let t = text.trim_matches(|c: char| c == '\r' || c == '\n' || c == ' ');
    if t.len() == 18 && t.bytes().all(|b| b.is_ascii_digit()) {
        return Sscc::parse(t).map_err(not_sscc);
    }
    let scan = if t.starts_with('(') {
        gs1::parse_hri(t, today)
    } else if t.starts_with(']') {
        gs1::parse(t.as_bytes(), today)
    } else {
        gs1::parse(format!("]C1{t}").as_bytes(), today)
    }
    .map_err(|e| Unreadable::barcode(&e))?;
    match scan.sscc {
        Some(s) => Sscc::parse(&s).map_err(not_sscc),
        None => Err(Unreadable::new(
            "the barcode carries no SSCC (AI 00)",
            "Stregkoden har intet SSCC (AI 00): scan pakkens label",
        )),
    }
}

/// A parcel as the cage sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParcelAtCage {
    pub parcel_id: i64,
    /// open, closed or voided.
    pub state: String,
    /// none, waiting, booked, rejected, handed_over or void.
    pub booking_state: String,
    /// The carrier of its booking, if it has one.
    pub carrier: Option<String>,
    /// The cage it is on already, if any.
    pub cage: Option<String>,
}

/// May this parcel go onto a cage of `carrier` (code `cage`)? `Ok(true)` when it is on this
/// cage already (a repeated scan: nothing to do).
pub fn judge(
    cage: &str,
    carrier: &str,
    sscc: &Sscc,
    p: Option<&ParcelAtCage>,
) -> Result<bool, Refusal> {
    let Some(p) = p else {
        return Err(refuse(
            "unknown_parcel",
            format!("no parcel has SSCC {sscc}"),
            format!("Ingen pakke har SSCC {sscc}"),
        ));
    };
    if let Some(on) = &p.cage {
        if on == cage {
            return Ok(true);
        }
        return Err(refuse(
            "already_handed_over",
            format!("parcel {sscc} is on cage {on} already"),
            format!("Pakken {sscc} er allerede i bur {on}"),
        ));
    }
    if p.state == "voided" || p.booking_state == "void" {
        return Err(refuse(
            "voided",
            format!("parcel {sscc} was voided: it does not leave"),
            format!("Pakken {sscc} er annulleret: den skal ikke afsted"),
        ));
    }
    if p.booking_state != "booked" {
        return Err(refuse(
            "not_booked",
            format!(
                "parcel {sscc} is not booked with a carrier ({})",
                p.booking_state
            ),
            format!(
                "Pakken {sscc} er ikke booket hos en transportør ({})",
                p.booking_state
            ),
        ));
    }
    match &p.carrier {
        Some(c) if c == carrier => Ok(false),
        other => Err(refuse(
            "wrong_carrier",
            format!(
                "parcel {sscc} is booked with {}, not {carrier}",
                other.as_deref().unwrap_or("no carrier")
            ),
            format!(
                "Pakken {sscc} er booket hos {}, ikke {carrier}",
                other.as_deref().unwrap_or("ingen transportør")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
    }

    #[test]
    fn an_sscc_is_read_from_every_form_of_the_label() {
        let want = "106141411234567897";
        for input in [
            "106141411234567897",
            "00106141411234567897",
            "]C100106141411234567897\r\n",
            "(00)106141411234567897",
        ] {
            assert_eq!(
                read_sscc(input.as_bytes(), today()).map(|s| s.to_string()),
                Ok(want.to_string()),
                "{input}"
            );
        }
        assert!(read_sscc(b"106141411234567898", today()).is_err());
        assert!(read_sscc(b"0105708932000017", today()).is_err());
    }

    #[test]
    fn only_a_booked_parcel_of_the_cage_s_carrier_goes_on_once() {
        let s = Sscc::parse("106141411234567897").unwrap();
        let p = ParcelAtCage {
            parcel_id: 1,
            state: "closed".into(),
            booking_state: "booked".into(),
            carrier: Some("local".into()),
            cage: None,
        };
        assert_eq!(judge("C1", "local", &s, Some(&p)), Ok(false));
        assert_eq!(
            judge("C1", "postnord", &s, Some(&p)).unwrap_err().code,
            "wrong_carrier"
        );
        let on = ParcelAtCage {
            cage: Some("C1".into()),
            ..p.clone()
        };
        assert_eq!(judge("C1", "local", &s, Some(&on)), Ok(true));
        assert_eq!(
            judge("C2", "local", &s, Some(&on)).unwrap_err().code,
            "already_handed_over"
        );
        let waiting = ParcelAtCage {
            booking_state: "waiting".into(),
            ..p.clone()
        };
        assert_eq!(
            judge("C1", "local", &s, Some(&waiting)).unwrap_err().code,
            "not_booked"
        );
        let void = ParcelAtCage {
            state: "voided".into(),
            booking_state: "void".into(),
            ..p
        };
        assert_eq!(
            judge("C1", "local", &s, Some(&void)).unwrap_err().code,
            "voided"
        );
        assert_eq!(
            judge("C1", "local", &s, None).unwrap_err().code,
            "unknown_parcel"
        );
    }
}
