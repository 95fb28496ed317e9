//! The conflicts' texts (409: the request was understood, the warehouse's state forbids it), in
//! Danish and English, by code. Part of `messages.rs`.

/// (code, Danish, English)
pub(super) const CONFLICTS: &[(&str, &str, &str)] = &[
    (
        "allocation_contended",
        "Lageret ændrede sig, mens ordren blev reserveret. Prøv igen.",
        "The stock changed while the order was being allocated. Try again.",
    ),
    (
        "already_packed",
        "Ordren er allerede pakket.",
        "The order is already packed.",
    ),
    (
        "already_returned",
        "Returen er allerede registreret.",
        "The return is already booked.",
    ),
    ("cage_closed", "Buret er lukket.", "The cage is closed."),
    (
        "cannot_undo",
        "Plukket kan ikke fortrydes, for der er meldt mangel efter det. Bed en leder rette det.",
        "The pick cannot be undone: a short was reported after it. Ask a lead to correct it.",
    ),
    (
        "count_below_reserved",
        "Der er talt færre, end der er reserveret til åbne pluk. Meld de pluk som mangel først.",
        "Fewer were counted than are reserved for open picks. Report those picks short first.",
    ),
    (
        "count_superseded",
        "En anden har talt lokationen imens. Tæl den igen.",
        "Someone else counted the location meanwhile. Count it again.",
    ),
    (
        "demo_refused",
        "Demodata indlæses kun i en tom database uden for drift (environment = production).",
        "Demo data is loaded only into an empty database outside production (environment = production).",
    ),
    (
        "cut_or_scanned",
        "Der er ikke flere uscannede pakninger af lottet i kassen. En ødelagt hulklippet plade meldes ved hulklipstationen.",
        "There are no more unscanned packs of the lot in the tote. A ruined cut plate is reported at the cutting station.",
    ),
    (
        "empty_parcel",
        "Der er ikke scannet noget i pakken endnu.",
        "Nothing has been scanned into the parcel yet.",
    ),
    (
        "handed_over",
        "Pakken er allerede overleveret til transportøren og kan ikke annulleres her.",
        "The parcel is already with the carrier and cannot be voided here.",
    ),
    (
        "idempotency_key_in_use",
        "Det samme er allerede i gang. Vent et øjeblik, og prøv igen.",
        "The same request is already running. Wait a moment and try again.",
    ),
    (
        "idempotency_key_reused",
        "Forespørgslens nøgle er allerede brugt til noget andet. Genindlæs siden, og prøv igen.",
        "The request's key was already used for something else. Reload the page and try again.",
    ),
    (
        "job_not_at_station",
        "Jobbet er ikke ved en station.",
        "The job is not at a station.",
    ),
    (
        "job_not_recalling",
        "Jobbet er ikke ved at blive taget tilbage, så det kan ikke frigives.",
        "The job is not being taken back, so it cannot be released.",
    ),
    (
        "job_not_requeueable",
        "Jobbet kan ikke tages tilbage: kun et sendt, modtaget eller igangværende job kan.",
        "The job cannot be taken back: only a sent, accepted or running job can.",
    ),
    (
        "job_recalling",
        "Jobbet er allerede ved at blive taget tilbage. Vent på stationens svar. Er stationen ude af drift, og er pladen ikke klippet, så frigiv jobbet.",
        "The job is already being taken back. Wait for the station's answer. If the station is out of service and the plate was not cut, release the job.",
    ),
    (
        "job_state",
        "Det kan jobbet ikke i sin nuværende tilstand. Genindlæs siden.",
        "The job cannot do that in its current state. Reload the page.",
    ),
    (
        "label_format",
        "Transportøren sendte en etiket, som etiketprinteren ikke kan udskrive (den skal have ZPL).",
        "The carrier sent a label the label printer cannot print (it needs ZPL).",
    ),
    (
        "location_exists",
        "Lokationen findes allerede.",
        "The location already exists.",
    ),
    (
        "lot_blocked",
        "Et lot i pakken er spærret og må ikke sendes.",
        "A lot in the parcel is blocked and must not be shipped.",
    ),
    (
        "lot_expired",
        "Et lot i pakken er udløbet og må ikke sendes.",
        "A lot in the parcel has expired and must not be shipped.",
    ),
    (
        "lot_not_here",
        "Det scannede lot ligger ikke på lokationen.",
        "The scanned lot is not at the location.",
    ),
    (
        "lot_reserved",
        "Lottet er lige blevet reserveret til en anden ordre. Tag det lot, plukket viser.",
        "The lot was just reserved for another order. Take the lot the pick shows.",
    ),
    (
        "machine_reports",
        "Stationen er forbundet til sin maskine, og maskinen melder selv, når jobbet er færdigt eller fejler. Meld et problem i stedet.",
        "The station is linked to its machine, which reports when the job finishes or fails. Report a problem instead.",
    ),
    (
        "manual_station",
        "Det er en manuel station. Meld en fejl i stedet.",
        "This is a manual station. Report a fault instead.",
    ),
    (
        "mqtt_disabled",
        "Forbindelsen til hulklipstationerne (MQTT) er slået fra.",
        "The link to the cutting stations (MQTT) is switched off.",
    ),
    (
        "no_exception",
        "Bookingen har ingen åben afvigelse.",
        "The booking has no open exception.",
    ),
    (
        "no_free_tote",
        "Alle kasser er i brug. Pak færdig, eller opret flere kasser.",
        "Every tote is in use. Finish packing, or register more totes.",
    ),
    (
        "no_label_printer",
        "Pakkebordet har ingen etiketprinter til 100 × 150 mm-etiketter.",
        "The pack station has no label printer for 100 × 150 mm labels.",
    ),
    (
        "no_order",
        "Der er ingen ordre åben ved pakkebordet. Scan en kasse eller et ordrenummer.",
        "No order is open at the pack station. Scan a tote or an order number.",
    ),
    (
        "no_orders_ready",
        "Ingen ordrer venter på en plukrunde.",
        "No orders are waiting for a pick wave.",
    ),
    (
        "no_returns_location",
        "Returlokationen er ikke sat op som en karantænelokation.",
        "The returns location is not set up as a quarantine location.",
    ),
    (
        "no_sticker",
        "Jobbet har ingen udskrevet etiket (det er ikke færdigt, eller stationen har ingen printer).",
        "The job has no printed sticker (it is not finished, or the station has no printer).",
    ),
    (
        "no_stock",
        "Der er stadig ikke nok på lager.",
        "There is still not enough stock.",
    ),
    (
        "not_blocked",
        "Lottet er ikke spærret.",
        "The lot is not blocked.",
    ),
    (
        "not_booked",
        "Pakken er ikke booket hos transportøren.",
        "The parcel is not booked with the carrier.",
    ),
    (
        "not_closed",
        "Pakken er ikke lukket.",
        "The parcel is not closed.",
    ),
    (
        "not_complete",
        "Ordren er ikke færdigpakket: der mangler stadig noget.",
        "The order is not fully packed: something is still missing.",
    ),
    (
        "not_handed_over",
        "Pakken har aldrig forladt lageret.",
        "The parcel never left the warehouse.",
    ),
    (
        "not_in_order",
        "Det er ikke plukket til denne ordre.",
        "That was not picked for this order.",
    ),
    (
        "not_last_pick",
        "Kun det seneste pluk kan fortrydes.",
        "Only the last pick can be undone.",
    ),
    (
        "not_picked",
        "Ordren er ikke klar til pakning.",
        "The order is not ready for packing.",
    ),
    (
        "not_printed",
        "Dokumentet er ikke udskrevet (ordren har stadig åbne pakker, eller stationen har ingen dokumentprinter). Åbn følgesedlen som PDF.",
        "The document was not printed (the order still has open parcels, or the station has no document printer). Open the packing slip PDF.",
    ),
    (
        "not_rejected",
        "Bookingen er ikke afvist.",
        "The booking is not rejected.",
    ),
    (
        "nothing_to_count",
        "Ingen lokationer kan tælles med det valg.",
        "No countable location matches that choice.",
    ),
    (
        "nothing_to_pick",
        "Der er ikke mere at plukke i runden.",
        "There is nothing left to pick in the wave.",
    ),
    (
        "nothing_to_release",
        "Der kan ikke reserveres noget til ordren, så intet ville blive sendt.",
        "No stock can be reserved for the order, so nothing would be shipped.",
    ),
    (
        "nothing_to_undo",
        "Der er intet pluk at fortryde.",
        "There is no pick to undo.",
    ),
    (
        "order_conflict",
        "Ordren er allerede modtaget med et andet indhold.",
        "The order was already received with different content.",
    ),
    (
        "order_in_use",
        "Ordren bliver behandlet lige nu. Prøv igen om et øjeblik.",
        "The order is being processed right now. Try again in a moment.",
    ),
    (
        "order_not_backordered",
        "Ordren er ikke i restordre. Kun en restordre kan frigives delvist.",
        "The order is not backordered. Only a backorder can be released partially.",
    ),
    (
        "order_not_changeable",
        "Ordren kan ikke længere ændres eller annulleres, for plukningen er begyndt.",
        "The order can no longer be changed or cancelled: picking has started.",
    ),
    (
        "over_weight",
        "Pakken er for tung til pakketypen. Fordel ordren på flere pakker.",
        "The parcel is too heavy for its type. Split the order into more parcels.",
    ),
    (
        "parcel_mismatch",
        "Pakkens pakninger er ikke alle ved pakkebordet.",
        "The parcel's packs are not all at the pack station.",
    ),
    (
        "pick_not_open",
        "Plukket er allerede afsluttet.",
        "The pick is already finished.",
    ),
    (
        "printer_disabled",
        "Printeren er slået fra.",
        "The printer is switched off.",
    ),
    (
        "printer_has_jobs",
        "Printeren har udskrifter i historikken og kan ikke slettes. Slå den fra i stedet.",
        "The printer has print jobs on record and cannot be deleted. Switch it off instead.",
    ),
    (
        "printer_unavailable",
        "Printeren er ikke en etiketprinter, der er slået til.",
        "The printer is not a label printer that is switched on.",
    ),
    (
        "producer_exists",
        "Producenten findes allerede.",
        "The producer already exists.",
    ),
    (
        "product_exists",
        "Varen findes allerede.",
        "The product already exists.",
    ),
    (
        "replacement_not_short",
        "Erstatningspladen mangler ikke lager. Kun en, der mangler, kan prøves igen.",
        "The replacement plate is not short of stock. Only a short one is tried again.",
    ),
    (
        "scan_not_latest",
        "En nyere scanning er kommet. Se, hvad der modtages nu, og modtag igen.",
        "A newer scan came in. Check what will be received now, and receive again.",
    ),
    (
        "short_not_waiting",
        "Manglen venter ikke på lager. Kun en ventende mangel kan prøves igen.",
        "The short is not waiting for stock. Only a waiting short is tried again.",
    ),
    (
        "sscc_exhausted",
        "Der er ikke flere SSCC-numre i serien. Bed en administrator sætte en ny serie op.",
        "The SSCC serial range is used up. Ask an administrator to set up a new range.",
    ),
    (
        "template_not_allowed",
        "Denne printer må ikke udskrive denne slags etiket (den er begrænset til sin stations etiketter).",
        "This printer may not print this kind of label (it is limited to its station's labels).",
    ),
    (
        "token_exists",
        "Der findes allerede et API-token med det navn.",
        "An API token with that name already exists.",
    ),
    (
        "tote_in_use",
        "Kassen bruges til en anden ordre. Vælg en ledig kasse.",
        "The tote holds another order. Choose a free tote.",
    ),
    (
        "tote_mismatch",
        "Kassen rummer ikke det, der er scannet. Tjek, at det er ordrens kasse, og tæl efter.",
        "The tote does not hold what was scanned. Check that it is the order's tote, and count it.",
    ),
    (
        "user_exists",
        "Der findes allerede en bruger med det navn.",
        "A user with that name already exists.",
    ),
    (
        "wave_done",
        "Plukrunden er færdig, og dens kasser er lukket.",
        "The pick wave is done and its totes are closed.",
    ),
    (
        "wave_taken",
        "Plukrunden er allerede taget af en anden plukker.",
        "The pick wave is already taken by another picker.",
    ),
    (
        "wrong_status",
        "Lagerposten har ikke den status, handlingen kræver. Genindlæs siden.",
        "The stock unit does not have the status this needs. Reload the page.",
    ),
    (
        "wrong_workflow",
        "Stationen er ikke sat til modtagelse. Sæt den til modtagelse for at modtage ved scanning.",
        "The station is not set to receiving. Set it to receiving to receive by scan.",
    ),
];
