//! Which of the dashboard's sections a change can move. A live update reads only those and
//! keeps the rest of the picture it had: a pick scan, a pack scan or a new order, the most
//! common changes of a working day, then cost two or three of the six sections' reads, not all
//! of them.

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

    /// The sections an event of this type can change.
    ///
    /// Only the events of a pick scan and of an order's intake are narrowed; every other type,
    /// known or one added later, moves every section.
    /// - A confirmed (or undone) pack changes today's packs picked and the picker's lines, and
    ///   its scanner may be one the devices show; it changes no order's status (the wave's last
    ///   pick writes `order.picked` and `wave.done` too, which move everything), no parcel and
    ///   no exception. A recorded serial scan changes the floor and the devices.
    /// - A pack scan into an open parcel (`parcel.item_packed`) changes no order's status (the
    ///   close writes `parcel.closed` and `order.packed`), no count of closed parcels and no
    ///   exception (a shortage at packing is `order.pack_short`): the floor and its scanner.
    /// - A new order changes the flow, the orders still to pack for a cut-off and, when it
    ///   waits for stock, the backorders; nothing is picked, cut, packed or handed over.
    pub fn touched_by(event_type: &str) -> Sections {
        match event_type {
            "order.received" | "order.allocated" | "order.backordered" => Sections {
                flow: true,
                cutoffs: true,
                exceptions: true,
                ..Sections::NONE
            },
            "pick.confirmed" | "pick.undone" | "stock.picked" => Sections {
                throughput: true,
                floor: true,
                devices: true,
                ..Sections::NONE
            },
            "scan.recorded" | "parcel.item_packed" => Sections {
                floor: true,
                devices: true,
                ..Sections::NONE
            },
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
    fn a_pick_reads_three_sections_and_anything_else_all_of_them() {
        let pick = Sections::touched_by_all(["stock.picked", "pick.confirmed"]);
        assert_eq!(
            pick,
            Sections {
                throughput: true,
                floor: true,
                devices: true,
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
        // The wave's last pick moves the order on: everything.
        assert_eq!(
            Sections::touched_by_all(["pick.confirmed", "order.picked", "wave.done"]),
            Sections::ALL
        );
        assert_eq!(
            Sections::touched_by("parcel.item_packed"),
            Sections {
                floor: true,
                devices: true,
                ..Sections::NONE
            }
        );
        assert_eq!(
            Sections::touched_by_all(["parcel.item_packed", "parcel.closed", "order.packed"]),
            Sections::ALL
        );
        // A type nobody mapped (a new one) is read in full, not skipped.
        assert_eq!(Sections::touched_by("parcel.something_new"), Sections::ALL);
        assert_eq!(Sections::touched_by("pick.short"), Sections::ALL);
        assert_eq!(Sections::touched_by_all([]), Sections::NONE);
    }
}
