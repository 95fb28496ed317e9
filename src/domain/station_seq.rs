//! A cutting station's event numbers (`seq`), judged: which event is new, which is a copy of one
//! konsign has, which is dropped and why, and when a station's numbering began again. I/O-free:
//! the store reads the book and the record of a number, this decides, the store writes.
//!
//! Events are deduplicated by identity (the number *and* the message it came in), not by a
//! high-water mark alone: a copy is the same `message_id` under the same `seq`; a different
//! message under a number konsign has is a conflict and is dropped loudly. A station whose
//! bridge lost its state file starts again at 1 under a new boot id: konsign sees numbers at or
//! below its floor from the boot that is connected now, starts a new book from there and asks
//! about the station's jobs. A number far above anything known (a forged or wrapped `seq`) is
//! refused, so it cannot raise the floor over every later event.

/// How far above the highest known number a station's next number may be. A station makes a
/// few events per job; 10,000 unseen events is no outage but a broken or forged number.
pub const MAX_SEQ_JUMP: i64 = 10_000;

/// How many numbers below the floor keep their message, to tell a copy from a conflict.
pub const SEQ_WINDOW: i64 = 1_000;

/// What konsign knows of a station's numbering.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeqBook {
    /// Every number at or below it is had (or written off).
    pub floor: i64,
    /// The highest number known (seen in an event or reported by a state).
    pub top: i64,
    /// The boot whose numbering konsign follows (None before the first event or state).
    pub boot: Option<String>,
    /// The boot of the station's current connection (from its `connection` message).
    pub connected_boot: Option<String>,
}

/// The message a number was recorded with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub message_id: String,
    pub boot_id: Option<String>,
}

/// Why an event is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// The number is at or below the floor and no message is kept for it: had long ago, or
    /// written off after konsign asked about the station's jobs.
    Settled,
    /// konsign has this number from a different message of the same numbering.
    Conflict,
    /// The number is more than [`MAX_SEQ_JUMP`] above what is known, or out of range.
    TooFar,
}

impl Dropped {
    pub fn code(self) -> &'static str {
        match self {
            Dropped::Settled => "settled",
            Dropped::Conflict => "conflict",
            Dropped::TooFar => "too_far",
        }
    }
}

/// What to do with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventVerdict {
    /// New: record it and apply it.
    Take,
    /// The same message again (a QoS 1 copy, an outbox replay): nothing to do.
    Copy,
    /// The station's numbering began again: start a new book at `base` (floor and top), follow
    /// this boot, then take the event and ask about the station's jobs.
    Restarted {
        base: i64,
    },
    Drop(Dropped),
}

/// Judges an event `seq` in `message_id` from `boot_id`, with what is recorded for that number.
pub fn judge_event(
    book: &SeqBook,
    seq: u64,
    message_id: &str,
    boot_id: &str,
    recorded: Option<&Recorded>,
) -> EventVerdict {
    let Ok(seq) = i64::try_from(seq) else {
        return EventVerdict::Drop(Dropped::TooFar);
    };
    if seq < 1 {
        return EventVerdict::Drop(Dropped::TooFar);
    }
    let new_boot = is_new_boot(book, boot_id);
    if let Some(r) = recorded {
        if r.message_id == message_id {
            return EventVerdict::Copy;
        }
        return if new_boot {
            EventVerdict::Restarted { base: seq - 1 }
        } else {
            EventVerdict::Drop(Dropped::Conflict)
        };
    }
    if seq <= book.floor {
        return if new_boot {
            EventVerdict::Restarted { base: seq - 1 }
        } else {
            EventVerdict::Drop(Dropped::Settled)
        };
    }
    if seq > book.floor.max(book.top).saturating_add(MAX_SEQ_JUMP) {
        return EventVerdict::Drop(Dropped::TooFar);
    }
    EventVerdict::Take
}

/// What to do with a state's `last_event_seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateVerdict {
    /// Note it (events up to it exist).
    Note,
    /// The station's numbering began again at this boot: new book at `base`.
    Restarted { base: i64 },
    /// Below what konsign has, from the numbering it follows: a confused or forged state;
    /// the number is not noted (the rest of the state is).
    Behind,
    /// Far above anything known: refused.
    TooFar,
}

pub fn judge_state(book: &SeqBook, last_event_seq: u64, boot_id: &str) -> StateVerdict {
    let Ok(n) = i64::try_from(last_event_seq) else {
        return StateVerdict::TooFar;
    };
    if n > book.floor.max(book.top).saturating_add(MAX_SEQ_JUMP) {
        return StateVerdict::TooFar;
    }
    if n < book.floor {
        return if is_new_boot(book, boot_id) {
            StateVerdict::Restarted { base: n }
        } else {
            StateVerdict::Behind
        };
    }
    StateVerdict::Note
}

/// A boot konsign has not followed yet, and the one connected now (an old boot's message is an
/// outbox replay, never a new numbering). Before konsign follows any boot (a station's first
/// messages, or numbers kept from before boots were recorded) nothing is a new numbering.
fn is_new_boot(book: &SeqBook, boot_id: &str) -> bool {
    book.boot.is_some()
        && book.boot.as_deref() != Some(boot_id)
        && book.connected_boot.as_deref() == Some(boot_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(floor: i64, top: i64, boot: &str, connected: &str) -> SeqBook {
        SeqBook {
            floor,
            top,
            boot: Some(boot.into()),
            connected_boot: Some(connected.into()),
        }
    }

    fn rec(m: &str, b: &str) -> Recorded {
        Recorded {
            message_id: m.into(),
            boot_id: Some(b.into()),
        }
    }

    #[test]
    fn a_new_number_is_taken() {
        let b = book(5, 5, "b1", "b1");
        assert_eq!(judge_event(&b, 6, "m6", "b1", None), EventVerdict::Take);
        // above a hole too
        assert_eq!(judge_event(&b, 9, "m9", "b1", None), EventVerdict::Take);
        // a normal restart keeps counting: a new boot, a number above the floor
        let b = book(5, 5, "b1", "b2");
        assert_eq!(judge_event(&b, 6, "m6", "b2", None), EventVerdict::Take);
    }

    #[test]
    fn the_same_message_again_is_a_copy() {
        let b = book(5, 7, "b1", "b1");
        let r = rec("m4", "b1");
        assert_eq!(judge_event(&b, 4, "m4", "b1", Some(&r)), EventVerdict::Copy);
        // an outbox replay after a restart carries the old boot: still a copy
        let b = book(5, 7, "b2", "b2");
        assert_eq!(judge_event(&b, 4, "m4", "b1", Some(&r)), EventVerdict::Copy);
    }

    #[test]
    fn another_message_under_a_number_had_is_dropped() {
        let b = book(5, 7, "b1", "b1");
        let r = rec("m4", "b1");
        assert_eq!(
            judge_event(&b, 4, "forged", "b1", Some(&r)),
            EventVerdict::Drop(Dropped::Conflict)
        );
        assert_eq!(
            judge_event(&b, 2, "old", "b1", None),
            EventVerdict::Drop(Dropped::Settled)
        );
        // an old boot's message below the floor is a late replay, not a new numbering
        let b = book(5, 7, "b2", "b2");
        assert_eq!(
            judge_event(&b, 2, "old", "b1", None),
            EventVerdict::Drop(Dropped::Settled)
        );
    }

    #[test]
    fn a_numbering_that_began_again_is_recognised() {
        // the bridge lost its state file: new boot, seq 1 again
        let b = book(120, 120, "b1", "b2");
        assert_eq!(
            judge_event(&b, 1, "n1", "b2", None),
            EventVerdict::Restarted { base: 0 }
        );
        // and the number is one konsign still keeps from the old numbering
        let b = book(3, 3, "b1", "b2");
        let r = rec("m1", "b1");
        assert_eq!(
            judge_event(&b, 1, "n1", "b2", Some(&r)),
            EventVerdict::Restarted { base: 0 }
        );
        // its state says so first
        let b = book(120, 120, "b1", "b2");
        assert_eq!(
            judge_state(&b, 0, "b2"),
            StateVerdict::Restarted { base: 0 }
        );
        // once followed, the new boot is the book's: a lower number again is no restart
        let b = book(4, 4, "b2", "b2");
        assert_eq!(
            judge_event(&b, 1, "x", "b2", None),
            EventVerdict::Drop(Dropped::Settled)
        );
        assert_eq!(judge_state(&b, 2, "b2"), StateVerdict::Behind);
        // a boot that is not connected now cannot begin a numbering
        let b = book(120, 120, "b1", "b3");
        assert_eq!(judge_state(&b, 0, "b2"), StateVerdict::Behind);
    }

    #[test]
    fn a_number_far_above_what_is_known_is_refused() {
        let b = book(5, 8, "b1", "b1");
        assert_eq!(
            judge_event(&b, (8 + MAX_SEQ_JUMP + 1) as u64, "m", "b1", None),
            EventVerdict::Drop(Dropped::TooFar)
        );
        assert_eq!(
            judge_event(&b, (8 + MAX_SEQ_JUMP) as u64, "m", "b1", None),
            EventVerdict::Take
        );
        assert_eq!(
            judge_event(&b, u64::MAX, "m", "b1", None),
            EventVerdict::Drop(Dropped::TooFar)
        );
        assert_eq!(
            judge_event(&b, 0, "m", "b1", None),
            EventVerdict::Drop(Dropped::TooFar)
        );
        assert_eq!(judge_state(&b, u64::MAX, "b1"), StateVerdict::TooFar);
        assert_eq!(
            judge_state(&b, (8 + MAX_SEQ_JUMP + 1) as u64, "b1"),
            StateVerdict::TooFar
        );
        assert_eq!(judge_state(&b, 8, "b1"), StateVerdict::Note);
    }

    #[test]
    fn a_first_station_has_no_boot_yet() {
        let b = SeqBook {
            floor: 0,
            top: 0,
            boot: None,
            connected_boot: None,
        };
        assert_eq!(judge_event(&b, 1, "m1", "b1", None), EventVerdict::Take);
        assert_eq!(judge_state(&b, 0, "b1"), StateVerdict::Note);
        // numbers from before boots were recorded: no restart is made up
        let b = SeqBook {
            floor: 40,
            top: 40,
            boot: None,
            connected_boot: Some("b1".into()),
        };
        assert_eq!(
            judge_event(&b, 3, "m3", "b1", None),
            EventVerdict::Drop(Dropped::Settled)
        );
        assert_eq!(judge_state(&b, 3, "b1"), StateVerdict::Behind);
    }
}
