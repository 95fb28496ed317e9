//! The text of every error code the API answers with, in Danish (the floor's language, shown on
//! the pages as `message_da`) and in English. The API's `message` stays the specific English
//! text the service wrote; these texts say the same in words a person at the station acts on.
//!
//! The conflicts' texts are in `messages_conflict.rs`; a test (`tests/messages.rs`) fails when a
//! code used in `src/` has no text here.

use super::messages_conflict::CONFLICTS;
use super::pages::texts::Lang;
use crate::domain::stock::StockError;
use crate::error::Error;

/// A code with its text: (code, Danish, English).
pub(super) type Entry = (&'static str, &'static str, &'static str);

/// Every code that is not a conflict: the errors' own, the rejections of unreadable requests
/// and the ones the HTTP layer answers by itself.
const GENERAL: &[Entry] = &[
    ("invalid_input", "Ugyldig værdi.", "Invalid value."),
    (
        "invalid_rows",
        "Filen har fejl, så intet er importeret.",
        "The file has errors, so nothing was imported.",
    ),
    (
        "not_found",
        "Det findes ikke. Tjek nummeret.",
        "It does not exist. Check the number.",
    ),
    (
        "insufficient_stock",
        "Der er ikke nok på lager.",
        "There is not enough stock.",
    ),
    (
        "unauthenticated",
        "Du er ikke logget ind (eller er blevet logget ud). Log ind igen.",
        "You are not logged in (or were logged out). Log in again.",
    ),
    (
        "bad_credentials",
        "Forkert brugernavn eller adgangskode – eller kontoen er låst en tid efter for mange forkerte forsøg.",
        "Wrong username or password – or the account is locked for a while after too many failed attempts.",
    ),
    (
        "too_many_requests",
        "For mange forsøg. Vent lidt, og prøv igen.",
        "Too many attempts. Wait a little and try again.",
    ),
    (
        "busy",
        "konsign har travlt lige nu. Prøv igen om et øjeblik.",
        "konsign is busy just now. Try again in a moment.",
    ),
    (
        "account_locked",
        "Kontoen er låst efter for mange forkerte forsøg. Prøv igen om lidt.",
        "The account is locked after too many failed attempts. Try again later.",
    ),
    (
        "forbidden",
        "Din rolle må ikke gøre det. Spørg en leder.",
        "Your role may not do that. Ask a lead.",
    ),
    (
        "internal",
        "Der skete en fejl i konsign. Prøv igen; sker det igen, så sig det til en leder.",
        "Something went wrong in konsign. Try again; if it happens again, tell a lead.",
    ),
    (
        "malformed_json",
        "Siden sendte noget, serveren ikke kunne læse. Genindlæs siden, og prøv igen.",
        "The page sent something the server could not read. Reload the page and try again.",
    ),
    (
        "invalid_json_data",
        "Et felt mangler eller har den forkerte type. Genindlæs siden, og prøv igen.",
        "A field is missing or has the wrong type. Reload the page and try again.",
    ),
    (
        "json_content_type_required",
        "Forespørgslen skal sendes som JSON.",
        "The request must be sent as JSON.",
    ),
    (
        "body_too_large",
        "Det sendte er for stort.",
        "What was sent is too large.",
    ),
    (
        "unreadable_body",
        "Det sendte kunne ikke læses. Genindlæs siden, og prøv igen.",
        "What was sent could not be read. Reload the page and try again.",
    ),
    (
        "invalid_query",
        "Adressen har en ugyldig parameter.",
        "The address has an invalid parameter.",
    ),
    (
        "invalid_path",
        "Adressen er ugyldig.",
        "The address is not valid.",
    ),
    (
        "no_such_endpoint",
        "Adressen findes ikke.",
        "There is no such address.",
    ),
    (
        "method_not_allowed",
        "Den handling findes ikke på adressen.",
        "That action does not exist at this address.",
    ),
    (
        "cross_site_request",
        "Afvist: forespørgslen kom fra en anden side.",
        "Refused: the request came from another site.",
    ),
    (
        "csrf_token_invalid",
        "Siden er for gammel. Genindlæs den, og prøv igen.",
        "The page is out of date. Reload it and try again.",
    ),
];

/// Input fields by name: (field, Danish name, English name, what a valid value is, in Danish).
const FIELDS: &[(&str, &str, &str, &str)] = &[
    (
        "quantity",
        "Antal",
        "Quantity",
        "skal være et helt antal pakninger, mindst 1",
    ),
    (
        "qty",
        "Antal",
        "Quantity",
        "skal være et helt antal pakninger, mindst 1",
    ),
    (
        "location",
        "Lokation",
        "Location",
        "skal være en lokation, der findes",
    ),
    (
        "to_location",
        "Til lokation",
        "To location",
        "skal være en lokation, der findes",
    ),
    (
        "from_location",
        "Fra lokation",
        "From location",
        "skal være en lokation, der findes",
    ),
    (
        "gtin",
        "GTIN",
        "GTIN",
        "skal være GTIN'et på en kendt vare: 8, 12, 13 eller 14 cifre",
    ),
    (
        "lot",
        "Lot",
        "Lot",
        "skal være lotnummeret, som det står på pakningen",
    ),
    (
        "expiry",
        "Udløbsdato",
        "Expiry",
        "skal være en dato som ÅÅÅÅ-MM-DD",
    ),
    ("reason", "Årsag", "Reason", "skal kort sige hvorfor"),
    ("note", "Note", "Note", "må højst have 500 tegn"),
    ("data", "Scanning", "Scan", "scan stregkoden igen"),
    (
        "scan_id",
        "Scanning",
        "Scan",
        "genindlæs siden, og scan igen",
    ),
    (
        "request_key",
        "Forespørgsel",
        "Request",
        "genindlæs siden, og prøv igen",
    ),
    ("code", "Kode", "Code", "scan eller skriv koden igen"),
    ("station", "Station", "Station", "skal have 1 til 64 tegn"),
    (
        "workflow",
        "Arbejdsgang",
        "Workflow",
        "vælg opslag, modtagelse, plukning eller pakning",
    ),
    ("tote", "Kasse", "Tote", "skal være en kasse, der findes"),
    (
        "sscc",
        "SSCC",
        "SSCC",
        "skal være 18 cifre med det rigtige kontrolciffer",
    ),
    (
        "weight_g",
        "Vægt (g)",
        "Weight (g)",
        "skal være vægten i hele gram",
    ),
    (
        "parcel_type",
        "Pakketype",
        "Parcel type",
        "vælg en pakketype fra listen",
    ),
    (
        "max_orders",
        "Højst antal ordrer",
        "Most orders",
        "skal være et helt tal, mindst 1",
    ),
    (
        "delivery_until",
        "Levering senest",
        "Delivery by",
        "skal være en dato som ÅÅÅÅ-MM-DD",
    ),
    (
        "delivery_date",
        "Leveringsdato",
        "Delivery date",
        "skal være en dato som ÅÅÅÅ-MM-DD",
    ),
    (
        "picker",
        "Plukker",
        "Picker",
        "vælg en bruger med rollen plukker",
    ),
    (
        "carrier",
        "Transportør",
        "Carrier",
        "vælg en transportør fra listen",
    ),
    ("service", "Service", "Service", ""),
    ("name", "Navn", "Name", ""),
    ("username", "Brugernavn", "Username", ""),
    ("password", "Adgangskode", "Password", ""),
    ("role", "Rolle", "Role", ""),
    ("owner", "Ejer", "Owner", ""),
    ("new_owner", "Ny ejer", "New owner", ""),
    ("producer", "Producent", "Producer", ""),
    ("external_id", "Ordrenummer", "Order number", ""),
    ("lines", "Ordrelinjer", "Order lines", ""),
    ("units_per_pack", "Stk. pr. pakning", "Units per pack", ""),
    (
        "min_shelf_life_days",
        "Mindste restholdbarhed (dage)",
        "Minimum shelf life (days)",
        "",
    ),
    ("walk_seq", "Gangrækkefølge", "Walk sequence", ""),
    ("zone", "Zone", "Zone", ""),
    ("kind", "Type", "Kind", ""),
    ("category", "Kategori", "Category", ""),
    ("printer", "Printer", "Printer", ""),
    ("dpi", "Opløsning (dpi)", "Resolution (dpi)", ""),
    ("port", "Port", "Port", ""),
    ("state", "Tilstand", "State", ""),
    ("status", "Status", "Status", ""),
    ("from", "Fra", "From", "skal være en dato som ÅÅÅÅ-MM-DD"),
    ("to", "Til", "To", ""),
    ("day", "Dag", "Day", "skal være en dato som ÅÅÅÅ-MM-DD"),
    ("days", "Dage", "Days", ""),
    ("limit", "Antal rækker", "Limit", ""),
    (
        "cut_min_mm",
        "Mindste klippemål (mm)",
        "Smallest cut (mm)",
        "",
    ),
    (
        "cut_max_mm",
        "Største klippemål (mm)",
        "Largest cut (mm)",
        "",
    ),
    ("postcode", "Postnummer", "Postcode", ""),
    ("phone", "Telefon", "Phone", ""),
    ("email", "E-mail", "E-mail", ""),
    ("country", "Land", "Country", ""),
    ("ean", "EAN-nummer", "EAN number", ""),
    ("price_minor", "Pris", "Price", ""),
    ("currency", "Valuta", "Currency", ""),
];

/// Kinds of problem an input's English message names, said in Danish; they say more than the
/// field's general rule. Checked in order.
const PROBLEMS: &[(&str, &str)] = &[
    ("unknown product", "varen findes ikke i kataloget"),
    ("unknown location", "lokationen findes ikke"),
    ("check digit", "kontrolcifferet passer ikke"),
    ("expired on", "datoen er overskredet"),
    ("must not be empty", "må ikke være tom"),
    ("control characters", "må ikke indeholde styretegn"),
];

/// What a missing thing is called, by the start of the English `NotFound` text; `{}` is the
/// rest's first word (its id). Longest first where one starts another.
const NOT_FOUND: &[(&str, &str)] = &[
    (
        "an order in tote or with reference ",
        "Ingen ordre i kassen eller med referencen {}.",
    ),
    (
        "print job with key ",
        "Der er ingen udskrift med nøglen {}.",
    ),
    ("return of parcel ", "Der er ingen retur af pakken {}."),
    ("confirmed scan ", "Scanningen {} er ikke bekræftet."),
    ("order ", "Ordren {} findes ikke."),
    ("cage ", "Buret {} findes ikke."),
    ("parcel ", "Pakken {} findes ikke."),
    ("stock unit ", "Lagerposten {} findes ikke."),
    ("printer ", "Printeren {} findes ikke."),
    ("print job ", "Udskriften {} findes ikke."),
    ("cutting job ", "Hulklipjobbet {} findes ikke."),
    ("cutting station ", "Hulklipstationen {} findes ikke."),
    ("booking ", "Bookingen {} findes ikke."),
    ("wave ", "Plukrunden {} findes ikke."),
    ("replacement ", "Erstatningspladen {} findes ikke."),
    ("pick ", "Plukket {} findes ikke."),
    ("pack short ", "Manglen {} findes ikke."),
    ("pack station ", "Pakkebordet {} findes ikke."),
    ("count run ", "Optællingen {} findes ikke."),
    ("user ", "Brugeren {} findes ikke."),
    ("scanner ", "Scanneren {} findes ikke."),
    ("scan ", "Scanningen {} findes ikke."),
    ("product ", "Varen {} findes ikke."),
    ("location ", "Lokationen {} findes ikke."),
    ("live token ", "Tokenet {} findes ikke."),
    ("label template ", "Etiketskabelonen {} findes ikke."),
    (
        "carrier ",
        "Transportøren {} findes ikke eller tager ikke imod hændelser.",
    ),
];

/// Every code with a text here.
pub fn known_codes() -> Vec<&'static str> {
    GENERAL.iter().chain(CONFLICTS).map(|e| e.0).collect()
}

/// The text of `code` in `lang`. For `invalid_input` the field is named with what it takes
/// (`Ugyldig værdi i «Antal»: skal være et helt antal pakninger, mindst 1.`). An unknown code
/// gets a general text, never nothing.
pub fn text(code: &str, field: Option<&str>, lang: Lang) -> String {
    if code == "invalid_input" {
        if let Some(f) = field {
            return invalid(f, None, lang);
        }
    }
    match GENERAL.iter().chain(CONFLICTS).find(|e| e.0 == code) {
        Some((_, da, en)) => pick(lang, da, en).to_string(),
        None => pick(
            lang,
            "Det kunne ikke lade sig gøre.",
            "That could not be done.",
        )
        .to_string(),
    }
}

/// The text of an error, with what it carries where that helps (a locked account's time, the
/// stock on hand, the thing not found).
pub fn error_text(e: &Error, lang: Lang) -> String {
    match (e, lang) {
        (Error::TooMany { retry_after_secs }, Lang::Da) => {
            format!("For mange forsøg. Prøv igen om {retry_after_secs} sekunder.")
        }
        (Error::Locked { until }, Lang::Da) if !until.is_empty() => {
            format!("Kontoen er låst efter for mange forkerte forsøg. Prøv igen efter {until}.")
        }
        (Error::Stock(StockError::Insufficient { on_hand, requested }), Lang::Da) => {
            format!("Der er ikke nok på lager: {on_hand} på lager, {requested} ønsket.")
        }
        (Error::Stock(StockError::Overflow), Lang::Da) => "Antallet er for stort.".into(),
        (Error::NotFound(what), Lang::Da) => not_found_da(what),
        (Error::Invalid(i), _) => invalid(&i.field, Some(&i.message), lang),
        (Error::InvalidMany(problems), Lang::Da) => match problems.first() {
            Some(p) => format!(
                "{} fejl i filen, så intet er importeret. Første fejl: linje {}, «{}».",
                problems.len(),
                p.line,
                field_name(&p.field, Lang::Da)
            ),
            None => text("invalid_rows", None, lang),
        },
        _ => text(e.code(), e.field(), lang),
    }
}

/// A field's name for people: the last part of a path (`lines[2].gtin` is `gtin`), or the name
/// itself when it has none here.
pub fn field_name(field: &str, lang: Lang) -> String {
    let last = last_part(field);
    match FIELDS.iter().find(|f| f.0 == last) {
        Some((_, da, en, _)) => pick(lang, da, en).to_string(),
        None => last.to_string(),
    }
}

fn last_part(field: &str) -> &str {
    let last = field.rsplit('.').next().unwrap_or(field);
    last.split('[').next().unwrap_or(last)
}

/// `Ugyldig værdi i «Udløbsdato»: datoen er overskredet.`: the field, and the problem when the
/// English message names a known kind of it, else what the field takes.
fn invalid(field: &str, message: Option<&str>, lang: Lang) -> String {
    let name = field_name(field, lang);
    let problem = message.and_then(|m| PROBLEMS.iter().find(|p| m.contains(p.0)));
    let hint = match problem {
        Some((_, da)) => da,
        None => FIELDS
            .iter()
            .find(|f| f.0 == last_part(field))
            .map_or("", |f| f.3),
    };
    match lang {
        Lang::Da if hint.is_empty() => format!("Ugyldig værdi i «{name}»."),
        Lang::Da => format!("Ugyldig værdi i «{name}»: {hint}."),
        Lang::En => format!("Invalid value in «{name}»."),
    }
}

fn not_found_da(what: &str) -> String {
    NOT_FOUND
        .iter()
        .find_map(|(prefix, da)| {
            let id = what.strip_prefix(prefix)?.split_whitespace().next()?;
            Some(da.replacen("{}", id, 1))
        })
        .unwrap_or_else(|| text("not_found", None, Lang::Da))
}

fn pick(lang: Lang, da: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Da => da,
        Lang::En => en,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_entry_and_a_danish_text_of_its_own() {
        let codes = known_codes();
        let mut seen = std::collections::HashSet::new();
        for (code, da, en) in GENERAL.iter().chain(CONFLICTS) {
            assert!(seen.insert(*code), "{code} twice");
            assert!(!da.is_empty() && !en.is_empty(), "{code}");
            assert_ne!(da, en, "{code}: the Danish is the English");
            assert!(da.ends_with('.'), "{code}: a sentence: {da}");
        }
        assert_eq!(codes.len(), seen.len());
    }

    #[test]
    fn every_error_has_a_text_under_its_own_code() {
        use crate::domain::Invalid;
        let errors = [
            Error::Invalid(Invalid::new("quantity", "must be at least 1")),
            Error::InvalidMany(Vec::new()),
            Error::NotFound("order 7".into()),
            Error::conflict("pick_not_open", "pick 3 is done"),
            Error::Stock(StockError::Overflow),
            Error::Unauthenticated,
            Error::BadCredentials,
            Error::Locked {
                until: String::new(),
            },
            Error::Forbidden("no".into()),
            Error::Internal(anyhow::anyhow!("boom")),
        ];
        for e in &errors {
            assert!(known_codes().contains(&e.code()), "{}", e.code());
        }
    }

    #[test]
    fn invalid_input_names_the_field_in_danish() {
        assert_eq!(
            text("invalid_input", Some("quantity"), Lang::Da),
            "Ugyldig værdi i «Antal»: skal være et helt antal pakninger, mindst 1."
        );
        assert_eq!(
            text("invalid_input", Some("lines[2].gtin"), Lang::Da),
            "Ugyldig værdi i «GTIN»: skal være GTIN'et på en kendt vare: 8, 12, 13 eller 14 cifre."
        );
        let e = Error::invalid("expiry", "lot expired on 2020-01-01");
        assert_eq!(
            error_text(&e, Lang::Da),
            "Ugyldig værdi i «Udløbsdato»: datoen er overskredet."
        );
        assert_eq!(
            text("invalid_input", Some("data.recipient_name"), Lang::Da),
            "Ugyldig værdi i «recipient_name»."
        );
        assert_eq!(
            text("invalid_input", Some("expiry"), Lang::En),
            "Invalid value in «Expiry»."
        );
    }

    #[test]
    fn what_was_not_found_is_named() {
        let e = Error::NotFound("stock unit 999999".into());
        assert_eq!(error_text(&e, Lang::Da), "Lagerposten 999999 findes ikke.");
        let e = Error::NotFound("something else".into());
        assert_eq!(error_text(&e, Lang::Da), "Det findes ikke. Tjek nummeret.");
        let e = Error::Locked {
            until: "2026-11-22 09:15".into(),
        };
        assert!(error_text(&e, Lang::Da).ends_with("Prøv igen efter 2026-11-22 09:15."));
    }

    #[test]
    fn an_unknown_code_still_gets_a_sentence() {
        assert_eq!(
            text("no_such_code", None, Lang::Da),
            "Det kunne ikke lade sig gøre."
        );
    }
}
