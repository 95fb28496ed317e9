//! The pages' languages and every text they share, in Danish and English.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Da,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Da => "da",
            Lang::En => "en",
        }
    }
}

/// Every text a page shows, in both languages. A key without a text is a test failure (`tests`
/// below reads every `t(…, "key")` in `src/http`); should one slip through anyway, Danish falls
/// back to English and a key neither knows shows nothing, never a placeholder.
pub(super) fn t(l: Lang, key: &str) -> &'static str {
    lookup(l, key)
        .or_else(|| lookup(Lang::En, key))
        .unwrap_or_default()
}

fn lookup(l: Lang, key: &str) -> Option<&'static str> {
    Some(match (key, l) {
        ("title", _) => "konsign",
        ("login", Lang::Da) => "Log ind",
        ("login", Lang::En) => "Log in",
        ("username", Lang::Da) => "Brugernavn",
        ("username", Lang::En) => "Username",
        ("password", Lang::Da) => "Adgangskode",
        ("password", Lang::En) => "Password",
        ("bad_credentials", Lang::Da) => "Forkert brugernavn eller adgangskode – eller kontoen er låst en tid efter for mange forkerte forsøg.",
        ("bad_credentials", Lang::En) => "Wrong username or password – or the account is locked for a while after too many failed attempts.",
        ("too_many", Lang::Da) => "For mange forsøg. Vent et minut, og prøv igen.",
        ("too_many", Lang::En) => "Too many attempts. Wait a minute and try again.",
        ("busy", Lang::Da) => "konsign har travlt lige nu. Prøv igen om et øjeblik.",
        ("busy", Lang::En) => "konsign is busy just now. Try again in a moment.",
        ("error", Lang::Da) => "Noget gik galt. Prøv igen.",
        ("error", Lang::En) => "Something went wrong. Please try again.",
        ("logout", Lang::Da) => "Log ud",
        ("logout", Lang::En) => "Log out",
        ("welcome", Lang::Da) => "Logget ind som",
        ("welcome", Lang::En) => "Logged in as",
        ("stock_by_owner", Lang::Da) => "Lager pr. ejer (producent)",
        ("stock_by_owner", Lang::En) => "Stock by owner (producer)",
        ("owner", Lang::Da) => "Ejer",
        ("owner", Lang::En) => "Owner",
        ("on_hand", Lang::Da) => "På lager",
        ("on_hand", Lang::En) => "On hand",
        ("available", Lang::Da) => "Disponibelt",
        ("available", Lang::En) => "Available",
        ("quarantined", Lang::Da) => "I karantæne",
        ("quarantined", Lang::En) => "Quarantined",
        ("short_dated", Lang::Da) => "Kort holdbarhed",
        ("short_dated", Lang::En) => "Short-dated",
        ("expired", Lang::Da) => "Udløbet",
        ("expired", Lang::En) => "Expired",
        ("packs", Lang::Da) => "Alle tal er antal pakninger. Bjælken viser disponibelt (grøn), karantæne (gul) og udløbet (rød).",
        ("packs", Lang::En) => "All figures are numbers of packs. The bar shows available (green), quarantined (yellow) and expired (red).",
        ("stock_error", Lang::Da) => "Lageroversigten kunne ikke hentes lige nu.",
        ("stock_error", Lang::En) => "The stock overview could not be loaded right now.",
        ("api", Lang::Da) => "API-dokumentation (OpenAPI)",
        ("api", Lang::En) => "API documentation (OpenAPI)",
        ("station", _) => "Station",
        ("cutting", _) => "Hulklip",
        ("cut_jobs", Lang::Da) => "Klippejob",
        ("cut_jobs", Lang::En) => "Cutting jobs",
        ("cut_jobs_here", Lang::Da) => "Job ved stationen",
        ("cut_jobs_here", Lang::En) => "Jobs at the station",
        ("cut_ready", Lang::Da) => "klar",
        ("cut_ready", Lang::En) => "ready",
        ("cut_busy", Lang::Da) => "klipper",
        ("cut_busy", Lang::En) => "cutting",
        ("cut_paused", Lang::Da) => "på pause",
        ("cut_paused", Lang::En) => "paused",
        ("cut_fault", Lang::Da) => "fejl på maskinen",
        ("cut_fault", Lang::En) => "machine fault",
        ("cut_broken", Lang::Da) => "forbindelsen er tabt",
        ("cut_broken", Lang::En) => "connection lost",
        ("cut_offline", _) => "offline",
        ("cut_unknown", Lang::Da) => "ukendt",
        ("cut_unknown", Lang::En) => "unknown",
        ("cut_stale", Lang::Da) => "intet hørt i over 90 s",
        ("cut_stale", Lang::En) => "not heard from for over 90 s",
        ("pause", _) => "Pause",
        ("resume", Lang::Da) => "Fortsæt",
        ("resume", Lang::En) => "Resume",
        ("no_cut_stations", Lang::Da) => "Ingen hulklipstationer er sat op.",
        ("no_cut_stations", Lang::En) => "No cutting stations are set up.",
        ("cj_queued", Lang::Da) => "i kø",
        ("cj_queued", Lang::En) => "queued",
        ("cj_at_stations", Lang::Da) => "ved stationerne",
        ("cj_at_stations", Lang::En) => "at the stations",
        ("cj_finished", Lang::Da) => "færdige",
        ("cj_finished", Lang::En) => "finished",
        ("cj_failed", Lang::Da) => "fejlede (pladerne klippes igen)",
        ("cj_failed", Lang::En) => "failed (their plates are cut again)",
        ("replacements", Lang::Da) => "Erstatningsplader",
        ("replacements", Lang::En) => "Replacement plates",
        ("repl_picking", Lang::Da) => "skal plukkes",
        ("repl_picking", Lang::En) => "to be picked",
        ("repl_short", Lang::Da) => "mangler lager",
        ("repl_short", Lang::En) => "no stock",
        ("retry", Lang::Da) => "Prøv igen",
        ("retry", Lang::En) => "Try again",
        ("job", _) => "Job",
        ("packs_n", Lang::Da) => "Antal",
        ("packs_n", Lang::En) => "Quantity",
        ("reason", Lang::Da) => "Årsag",
        ("reason", Lang::En) => "Reason",
        ("printers", Lang::Da) => "Printere",
        ("printers", Lang::En) => "Printers",
        ("printer", _) => "Printer",
        ("state", Lang::Da) => "Tilstand",
        ("state", Lang::En) => "State",
        ("queue", Lang::Da) => "I kø",
        ("queue", Lang::En) => "Queued",
        ("templates", Lang::Da) => "Etiketskabeloner (eksempel)",
        ("templates", Lang::En) => "Label templates (example)",
        ("no_printers", Lang::Da) => "Ingen printere er sat op.",
        ("no_printers", Lang::En) => "No printers are set up.",
        ("scans", Lang::Da) => "Scanninger (nyeste øverst)",
        ("scans", Lang::En) => "Scans (newest first)",
        ("time", Lang::Da) => "Tid",
        ("time", Lang::En) => "Time",
        ("scanner", _) => "Scanner",
        ("verdict", Lang::Da) => "Resultat",
        ("verdict", Lang::En) => "Verdict",
        ("receive", Lang::Da) => "Modtag seneste godkendte scanning",
        ("receive", Lang::En) => "Receive the last accepted scan",
        ("quantity", Lang::Da) => "Antal pakninger",
        ("quantity", Lang::En) => "Packs",
        ("location", Lang::Da) => "Lokation",
        ("location", Lang::En) => "Location",
        ("lot_if_missing", Lang::Da) => "Lot (kun hvis stregkoden ikke har det)",
        ("lot_if_missing", Lang::En) => "Lot (only if the barcode has none)",
        ("expiry_if_missing", Lang::Da) => "Udløb ÅÅÅÅ-MM-DD (kun hvis stregkoden ikke har det)",
        ("expiry_if_missing", Lang::En) => "Expiry YYYY-MM-DD (only if the barcode has none)",
        ("received", Lang::Da) => "Modtaget",
        ("received", Lang::En) => "Received",
        ("lookup_mode", Lang::Da) => "Opslag: scan en vare eller en lokation for at se, hvad det er.",
        ("lookup_mode", Lang::En) => "Lookup: scan a product or a location to see what it is.",
        ("no_scan", Lang::Da) => "Scan en vare først.",
        ("no_scan", Lang::En) => "Scan a product first.",
        ("picking", Lang::Da) => "Plukning",
        ("picking", Lang::En) => "Picking",
        ("waves", Lang::Da) => "Plukrunder",
        ("waves", Lang::En) => "Pick waves",
        ("take", Lang::Da) => "Tag runden",
        ("take", Lang::En) => "Take the wave",
        ("no_waves", Lang::Da) => "Ingen plukrunder venter.",
        ("no_waves", Lang::En) => "No pick waves are waiting.",
        ("scan_here", Lang::Da) => "Scan her",
        ("scan_here", Lang::En) => "Scan here",
        ("undo", Lang::Da) => "Fortryd sidste pluk",
        ("undo", Lang::En) => "Undo last pick",
        ("short", Lang::Da) => "Mangler på lokationen",
        ("short", Lang::En) => "Short at location",
        ("station_opt", Lang::Da) => "Station med serielscanner (valgfri)",
        ("station_opt", Lang::En) => "Station with a serial scanner (optional)",
        ("tote", Lang::Da) => "Kasse",
        ("tote", Lang::En) => "Tote",
        ("lot", _) => "Lot",
        ("orders_by_status", Lang::Da) => "Ordrer pr. status",
        ("orders_by_status", Lang::En) => "Orders by status",
        ("no_orders", Lang::Da) => "Ingen ordrer endnu.",
        ("no_orders", Lang::En) => "No orders yet.",
        ("open_waves", Lang::Da) => "Plukrunder i gang",
        ("open_waves", Lang::En) => "Pick waves in progress",
        ("wave", Lang::Da) => "Runde",
        ("wave", Lang::En) => "Wave",
        ("picker", Lang::Da) => "Plukker",
        ("picker", Lang::En) => "Picker",
        ("progress", Lang::Da) => "Pluk færdige",
        ("progress", Lang::En) => "Picks done",
        ("backorders", Lang::Da) => "Restordrer (venter på varer)",
        ("backorders", Lang::En) => "Backorders (waiting for stock)",
        ("release", Lang::Da) => "Frigiv delvist",
        ("release", Lang::En) => "Release partially",
        ("release_reason", Lang::Da) => "Hvorfor sendes ordren uden de manglende varer?",
        ("release_reason", Lang::En) => "Why does the order ship without the missing packs?",
        ("exceptions", Lang::Da) => "Mangler ved pluk",
        ("exceptions", Lang::En) => "Short picks",
        ("missing_packs", Lang::Da) => "Manglede",
        ("missing_packs", Lang::En) => "Missing",
        ("reallocated", Lang::Da) => "Taget andetsteds",
        ("reallocated", Lang::En) => "Taken elsewhere",
        ("count_hint", Lang::Da) => "De manglende pakninger står i karantæne på lokationen: tæl den, og ret eller kassér.",
        ("count_hint", Lang::En) => "The missing packs are held in quarantine at the location: count it, then adjust or scrap.",
        ("assign", Lang::Da) => "Tildel",
        ("assign", Lang::En) => "Assign",
        ("make_wave", Lang::Da) => "Lav plukrunde",
        ("make_wave", Lang::En) => "Make a pick wave",
        ("max_orders", Lang::Da) => "Højst antal ordrer",
        ("max_orders", Lang::En) => "Most orders",
        ("delivery_until", Lang::Da) => "Levering senest (valgfri)",
        ("delivery_until", Lang::En) => "Delivery by (optional)",
        ("go_pick", Lang::Da) => "Gå til plukning →",
        ("go_pick", Lang::En) => "Go to picking →",
        ("st_received", Lang::Da) => "Modtaget",
        ("st_received", Lang::En) => "Received",
        ("st_allocated", Lang::Da) => "Reserveret, klar til plukning",
        ("st_allocated", Lang::En) => "Allocated, ready for picking",
        ("st_backordered", Lang::Da) => "I restordre",
        ("st_backordered", Lang::En) => "Backordered",
        ("st_picking", Lang::Da) => "Plukkes",
        ("st_picking", Lang::En) => "Picking",
        ("st_picked", Lang::Da) => "Plukket, venter på pakning",
        ("st_picked", Lang::En) => "Picked, waiting for packing",
        ("st_cutting", Lang::Da) => "Til hulklip",
        ("st_cutting", Lang::En) => "Waiting for hulklip",
        ("st_packed", Lang::Da) => "Pakket",
        ("st_packed", Lang::En) => "Packed",
        ("st_shipped", Lang::Da) => "Afsendt",
        ("st_shipped", Lang::En) => "Shipped",
        ("st_delivered", Lang::Da) => "Leveret",
        ("st_delivered", Lang::En) => "Delivered",
        ("st_cancelled", Lang::Da) => "Annulleret",
        ("st_cancelled", Lang::En) => "Cancelled",
        ("other_lang", Lang::Da) => "English",
        ("other_lang", Lang::En) => "Dansk",
        ("go_pack", Lang::Da) => "Til pakkebordet",
        ("go_pack", Lang::En) => "To the pack station",
        ("go_handover", Lang::Da) => "Overlevering til transportør",
        ("go_handover", Lang::En) => "Handover to the carrier",
        ("go_carriers", Lang::Da) => "Transportører: afviste bookinger og afvigelser",
        ("go_carriers", Lang::En) => "Carriers: rejected bookings and exceptions",
        ("demo_band", Lang::Da) => "DEMO – testdata, ikke til drift",
        ("demo_band", Lang::En) => "DEMO – test data, not for production",
        _ => return None,
    })
}

/// The band on top of every page while the database holds demo data (users with known
/// passwords): nobody should take it for the real warehouse.
pub(super) fn demo_band(l: Lang) -> maud::Markup {
    maud::html! {
        div.demoband #demo role="note" { (t(l, "demo_band")) }
    }
}

#[cfg(test)]
mod tests {
    use super::{lookup, Lang};
    use crate::domain::order::OrderStatus;

    /// Every `.rs` file under `dir`, recursively.
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                sources(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// The keys a call `t(lang, …)` may name: every string literal up to the call's closing
    /// parenthesis (`if … { "a" } else { "b" }` names both); `format!("st_{}", …)` names one
    /// key per order status.
    fn keys_of_call(rest: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let (mut depth, mut i) = (1, 0);
        let b = rest.as_bytes();
        while i < b.len() && depth > 0 {
            match b[i] {
                b'(' => depth += 1,
                b')' => depth -= 1,
                b'"' => {
                    let end = rest[i + 1..]
                        .find('"')
                        .map(|e| i + 1 + e)
                        .unwrap_or(b.len());
                    let lit = &rest[i + 1..end];
                    if let Some(prefix) = lit.strip_suffix("{}") {
                        keys.extend(
                            OrderStatus::ALL
                                .iter()
                                .map(|s| format!("{prefix}{}", s.as_str())),
                        );
                    } else if !lit.is_empty()
                        && lit
                            .bytes()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
                    {
                        keys.push(lit.to_string());
                    }
                    i = end;
                }
                _ => {}
            }
            i += 1;
        }
        keys
    }

    #[test]
    fn every_text_a_page_asks_for_exists_in_both_languages() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
        let mut files = Vec::new();
        sources(&root, &mut files);
        let (mut seen, mut missing) = (0, Vec::new());
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for call in ["t(l, ", "t(lang, "] {
                for (at, _) in text.match_indices(call) {
                    // `t(` as a call of its own, not the end of another name (`split(l, …`).
                    let before = text[..at].chars().last().unwrap_or(' ');
                    if before.is_alphanumeric() || before == '_' {
                        continue;
                    }
                    for key in keys_of_call(&text[at + call.len()..]) {
                        seen += 1;
                        for l in [Lang::Da, Lang::En] {
                            if lookup(l, &key).is_none() {
                                missing.push(format!("{}: {key} ({})", f.display(), l.code()));
                            }
                        }
                    }
                }
            }
        }
        assert!(
            seen > 50,
            "the scan found only {seen} texts: has `t(l, …)` been renamed?"
        );
        assert!(missing.is_empty(), "texts missing: {missing:#?}");
    }

    #[test]
    fn a_missing_key_shows_nothing_rather_than_a_placeholder() {
        assert_eq!(super::t(Lang::Da, "no_such_key"), "");
        assert_eq!(super::t(Lang::Da, "login"), "Log ind");
    }
}
