//! Which of the dashboard's sections a change can move. A live update reads only those and
//! keeps the rest of the picture it had: each change of a working day (an intake, a wave, a
//! pick, a cut, a pack, a close, a booking, a handover, a delivery, a device's state) then
//! costs one to five of the six sections' reads; only a type not mapped here reads them all.

/// A set of the dashboard's sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sections {
    pub flow: bool,
    pub throughput: bool,
    pub devices: bool,
    pub floor: bool,
    pub cutoffs: bool,
    pub exceptions: bool,
}

impl Sections {
    pub const NONE: Sections = Sections {
        flow: false,
        throughput: false,
        devices: false,
        floor: false,
        cutoffs: false,
        exceptions: false,
    };
    pub const ALL: Sections = Sections {
        flow: true,
        throughput: true,
        devices: true,
        floor: true,
        cutoffs: true,
        exceptions: true,
    };

    /// Each section alone, in the order the live hub's refresh reads them in turn.
    pub const EACH: [Sections; 6] = [
        Sections {
            flow: true,
            ..Sections::NONE
        },
        Sections {
            throughput: true,
            ..Sections::NONE
        },
        Sections {
            devices: true,
            ..Sections::NONE
        },
        Sections {
            floor: true,
            ..Sections::NONE
        },
        Sections {
            cutoffs: true,
            ..Sections::NONE
        },
        Sections {
            exceptions: true,
            ..Sections::NONE
        },
    ];

    /// How many sections are in the set.
    pub fn count(self) -> usize {
        [
            self.flow,
            self.throughput,
            self.devices,
            self.floor,
            self.cutoffs,
            self.exceptions,
        ]
        .into_iter()
        .filter(|b| *b)
        .count()
    }

    /// The sections an event of this type can change.
    ///
    /// Each type is mapped from the tables its transaction writes and the tables each section
    /// reads (below); a type not named here, known or one added later, moves every section.
    /// Every mapping is checked by a test that compares the narrowed picture with a whole read
    /// after the change (`tests/common::LiveCheck`).
    ///
    /// What the sections read:
    /// - flow: the orders' status, the parcels' state and booking state, the bookings'
    ///   tracking status;
    /// - throughput: confirmed picks, finished cutting jobs' log, closed parcels, parcels on
    ///   cages;
    /// - devices: the scanners (in memory), printers and their queues, cutting stations;
    /// - floor: confirmed and refused picks, waves and their pickers, closed parcels by station,
    ///   finished and failed cutting jobs' log;
    /// - cut-offs: orders not yet packed (by status), closed parcels not handed over and their
    ///   bookings' carrier, parcels on cages in the last hour;
    /// - exceptions: rejected bookings, delivery exceptions, short picks, failed cutting jobs,
    ///   backordered orders.
    pub fn touched_by(event_type: &str) -> Sections {
        const fn of(
            flow: bool,
            throughput: bool,
            devices: bool,
            floor: bool,
            cutoffs: bool,
            exceptions: bool,
        ) -> Sections {
            Sections {
                flow,
                throughput,
                devices,
                floor,
                cutoffs,
                exceptions,
            }
        }
        const T: bool = true;
        const F: bool = false;
        match event_type {
            // An order in or out of the backorders: its stage, the orders to pack, the old
            // backorders.
            "order.received" | "order.allocated" | "order.backordered" => of(T, F, F, F, T, T),
            // An order moving along the floor (never to or from `backordered`): its stage. The
            // work behind it comes with events of its own (`pick.confirmed`, `parcel.closed`,
            // `parcel.on_cage`, ...). Between taken in and packed it stays among the orders
            // still to pack (the cut-offs' count), so only the step out of them, `order.packed`,
            // moves the cut-offs. (A voided parcel sends its order back from packed to picked
            // with `parcel.voided`, which is not mapped: it reads everything.)
            "order.picking" | "order.picked" | "order.cutting" | "order.cut" | "order.shipped"
            | "order.delivered" => of(T, F, F, F, F, F),
            "order.packed" => of(T, F, F, F, T, F),
            // A pick scan: packs picked, the picker's lines. (A scan from a serial scanner is
            // also a `scan.recorded`, which moves the devices.)
            "pick.confirmed" | "pick.undone" | "stock.picked" => of(F, T, F, T, F, F),
            // A pick scan refused: the picker's refusals.
            "pick.refused" => of(F, F, F, T, F, F),
            // A serial scanner's scan stored: its last frame on the devices.
            "scan.recorded" => of(F, F, T, F, F, F),
            // A pack into an open parcel: no section shows an open parcel's contents (the close
            // writes `parcel.closed`; a shortage at packing is `order.pack_short`).
            "parcel.item_packed" => Sections::NONE,
            // Waves and who picks them.
            "wave.created" | "wave.assigned" | "wave.taken" | "wave.done" => of(F, F, F, T, F, F),
            // A closed parcel: the order's stage (with `order.packed`), parcels closed per hour
            // and per station, parcels waiting for the carrier.
            "parcel.closed" => of(T, T, F, T, T, F),
            // A booking made, refused or sent again: the booked split, the parcel's carrier,
            // the rejected bookings.
            "parcel.booked" | "parcel.booking_rejected" | "parcel.booking_resent" => {
                of(T, F, F, F, T, T)
            }
            // A parcel scanned onto a cage: handed over per hour and in the last hour, no
            // longer waiting; a cage closed ships its orders (with `order.shipped`).
            "parcel.on_cage" | "cage.opened" | "cage.closed" | "cage.carrier_closed" => {
                of(T, T, F, F, T, F)
            }
            // The carrier's tracking: delivered, or a delivery exception. A parcel handed over
            // is no longer one of the cut-offs' (its cage's close moved it).
            "parcel.tracking" | "parcel.tracking_exception" => of(T, F, F, F, F, T),
            // A lead has dealt with a delivery exception: the order is shipped again.
            "booking.exception_acknowledged" => of(T, F, F, F, F, T),
            // A cutting station's message (a job running, finished or failed; its mode), its
            // answer to a command, its connection: the station, jobs finished per hour and per
            // station, faults, failed jobs.
            "cut_station.event" | "cut_station.ack" | "cut_station.connection" => {
                of(F, T, T, T, F, T)
            }
            // A printer's state; a scanner set up or taken away.
            "printer.state" | "scanner.saved" | "scanner.removed" => of(F, F, T, F, F, F),
            // Users and their tokens: no section shows them (pickers are named by their work).
            "user.created" | "user.password_set" | "token.created" | "token.revoked" => {
                Sections::NONE
            }
            // The stock ledger (a receipt, a move, ownership moved at a close, packs out of the
            // warehouse at a cage's close, ...) and a cutting job queued: no section reads the
            // ledger or queued jobs. An order a receipt allocates writes `order.allocated`.
            "stock.received"
            | "stock.moved"
            | "stock.adjusted"
            | "stock.quarantined"
            | "stock.released"
            | "stock.scrapped"
            | "stock.ownership_transferred"
            | "stock.shipped"
            | "stock.returned"
            | "stock.counted"
            | "cut_job.queued" => Sections::NONE,
            _ => Sections::ALL,
        }
    }

    /// The sections that events of these types can change.
    pub fn touched_by_all<'a>(types: impl IntoIterator<Item = &'a str>) -> Sections {
        types
            .into_iter()
            .fold(Sections::NONE, |s, t| s.union(Sections::touched_by(t)))
    }

    pub fn union(self, o: Sections) -> Sections {
        Sections {
            flow: self.flow || o.flow,
            throughput: self.throughput || o.throughput,
            devices: self.devices || o.devices,
            floor: self.floor || o.floor,
            cutoffs: self.cutoffs || o.cutoffs,
            exceptions: self.exceptions || o.exceptions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Sections;

    #[test]
    fn each_change_reads_what_it_can_move_and_an_unknown_one_everything() {
        let pick = Sections::touched_by_all(["stock.picked", "pick.confirmed"]);
        assert_eq!(
            pick,
            Sections {
                throughput: true,
                floor: true,
                ..Sections::NONE
            }
        );
        assert_eq!(
            Sections::touched_by_all(["order.received", "order.allocated"]),
            Sections {
                flow: true,
                cutoffs: true,
                exceptions: true,
                ..Sections::NONE
            }
        );
        // The wave's last pick moves the order on and ends the wave: its stage, the picks,
        // the floor; the order stays among those to pack (the cut-offs').
        assert_eq!(
            Sections::touched_by_all(["pick.confirmed", "order.picked", "wave.done"]),
            Sections {
                flow: true,
                throughput: true,
                floor: true,
                ..Sections::NONE
            }
        );
        // An order sent back to the backorders by a wave that found nothing leaves them.
        assert!(Sections::touched_by("order.backordered").cutoffs);
        assert!(!Sections::touched_by("order.delivered").cutoffs);
        assert_eq!(Sections::touched_by("parcel.item_packed"), Sections::NONE);
        assert_eq!(Sections::touched_by("pick.refused"), Sections::EACH[3]);
        // A close: not the devices, not the exceptions.
        assert_eq!(
            Sections::touched_by_all([
                "stock.ownership_transferred",
                "parcel.closed",
                "order.packed"
            ]),
            Sections {
                devices: false,
                exceptions: false,
                ..Sections::ALL
            }
        );
        assert_eq!(Sections::touched_by("printer.state"), Sections::EACH[2]);
        assert_eq!(Sections::touched_by("stock.shipped"), Sections::NONE);
        assert_eq!(Sections::ALL.count(), 6);
        assert_eq!(
            Sections::EACH
                .iter()
                .fold(Sections::NONE, |a, b| a.union(*b)),
            Sections::ALL
        );
        // A type nobody mapped (a new one) is read in full, not skipped.
        assert_eq!(Sections::touched_by("parcel.something_new"), Sections::ALL);
        assert_eq!(Sections::touched_by("pick.short"), Sections::ALL);
        assert_eq!(Sections::touched_by_all([]), Sections::NONE);
    }
}
