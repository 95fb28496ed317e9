//! Hulklip rules without I/O: what a station's word about a job does to it, when events count
//! as lost, and how often a message is sent again. The service applies these in transactions.

/// What konsign learned about a job's plates from the station holding it: from an event, from
/// the `job_state` of an answer (`duplicate`, or a refused `cancel`), or from a station that
/// does not hold the job at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored in the station's queue, not started.
    Stored,
    /// On the machine.
    Running,
    Finished,
    /// Ended without finishing; `done` plates were cut (good), the rest were not.
    Failed {
        done: i64,
    },
    /// Stopped or dropped on konsign's `cancel` (or by the station); `done` plates were cut.
    Cancelled {
        done: i64,
    },
    /// The station does not have the job (it never arrived): nothing of it was cut there.
    NotHeld,
}

/// What to do to the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Move it to `to` if it is still in one of `from`.
    Move {
        to: &'static str,
        from: &'static [&'static str],
    },
    /// Finished: its order may move on.
    Finish,
    /// Failed: the uncut rest is cut by new jobs.
    Fail { done: i64 },
    /// Nothing of it was cut: the same job goes back in the queue as a new revision, for any
    /// station.
    Requeue,
    /// Stopped after `done` plates: it ends `cancelled`, and a new job cuts the rest.
    EndCancelled { done: i64 },
    /// Nothing changes.
    Nothing,
}

/// The states in which a station holds (or may hold) a job.
pub const HELD: [&str; 4] = ["sent", "accepted", "running", "recalling"];

/// What an outcome does to a job in `state`. A job konsign is recalling stays recalling until
/// its outcome is known: only then is it cut elsewhere (never while the station may cut it).
pub fn step(state: &str, o: Outcome) -> Step {
    if !HELD.contains(&state) {
        return Step::Nothing;
    }
    let recalling = state == "recalling";
    match o {
        Outcome::Stored if !recalling => Step::Move {
            to: "accepted",
            from: &["sent"],
        },
        Outcome::Running if !recalling => Step::Move {
            to: "running",
            from: &["sent", "accepted"],
        },
        Outcome::Stored | Outcome::Running => Step::Nothing,
        Outcome::Finished => Step::Finish,
        Outcome::Failed { done } => Step::Fail { done },
        Outcome::Cancelled { done: 0 } => Step::Requeue,
        Outcome::Cancelled { done } => Step::EndCancelled { done },
        Outcome::NotHeld if recalling || state == "sent" => Step::Requeue,
        Outcome::NotHeld => Step::Nothing,
    }
}

/// The new floor of a station's event numbers: every number at or below it has been seen.
/// `seen` holds numbers above `floor`, ascending.
pub fn advance_floor(floor: i64, seen: &[i64]) -> i64 {
    let mut f = floor;
    for &s in seen {
        if s <= f {
            continue;
        }
        if s == f + 1 {
            f = s;
        } else {
            break;
        }
    }
    f
}

/// How long a hole in a station's events may last before they count as lost, when an event
/// above the hole has arrived: a station sends events oldest first, one acknowledged publish
/// at a time, so a later event means the missing one was delivered to the broker before it.
pub const LOST_AFTER_LATER_EVENT_MS: i64 = 2_000;
/// The same when only a `state` counts the missing events: a state is sent at once, the events
/// may still wait in the station's outbox.
pub const LOST_AFTER_STATE_ONLY_MS: i64 = 10_000;

/// Whether missing events, missing for `age_ms`, are lost (and konsign asks about the jobs).
pub fn gap_is_lost(age_ms: i64, later_event: bool) -> bool {
    age_ms
        >= if later_event {
            LOST_AFTER_LATER_EVENT_MS
        } else {
            LOST_AFTER_STATE_ONLY_MS
        }
}

/// Seconds to wait before the next try after `tries` unanswered ones: 2, 4, 8, 16, then 30.
pub fn backoff_secs(tries: i64) -> i64 {
    (2i64 << tries.clamp(0, 4)).min(30)
}

/// Whether a station with `queued` waiting jobs and a job on the machine (`busy`) has room
/// under its queue limit (which counts the running job).
pub fn has_room(queued: usize, busy: bool, limit: u32) -> bool {
    (queued as u64 + u64::from(busy)) < u64::from(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recalled_job_is_cut_elsewhere_only_once_its_outcome_is_known() {
        assert_eq!(step("recalling", Outcome::Running), Step::Nothing);
        assert_eq!(step("recalling", Outcome::Stored), Step::Nothing);
        assert_eq!(step("recalling", Outcome::Finished), Step::Finish);
        assert_eq!(
            step("recalling", Outcome::Cancelled { done: 0 }),
            Step::Requeue
        );
        assert_eq!(
            step("recalling", Outcome::Cancelled { done: 3 }),
            Step::EndCancelled { done: 3 }
        );
        assert_eq!(step("recalling", Outcome::NotHeld), Step::Requeue);
        assert_eq!(step("accepted", Outcome::NotHeld), Step::Nothing);
        assert_eq!(
            step("recalling", Outcome::Failed { done: 1 }),
            Step::Fail { done: 1 }
        );
    }

    #[test]
    fn outcomes_move_held_jobs_and_leave_ended_ones() {
        assert_eq!(
            step("sent", Outcome::Stored),
            Step::Move {
                to: "accepted",
                from: &["sent"]
            }
        );
        assert_eq!(step("running", Outcome::Finished), Step::Finish);
        for ended in ["queued", "finished", "failed", "cancelled"] {
            assert_eq!(step(ended, Outcome::Finished), Step::Nothing, "{ended}");
        }
    }

    #[test]
    fn the_floor_moves_over_contiguous_numbers_only() {
        assert_eq!(advance_floor(4, &[5, 6, 8]), 6);
        assert_eq!(advance_floor(4, &[6, 7]), 4);
        assert_eq!(advance_floor(0, &[]), 0);
        assert_eq!(advance_floor(3, &[2, 3, 4]), 4);
    }

    #[test]
    fn a_gap_is_lost_sooner_when_a_later_event_came() {
        assert!(!gap_is_lost(1_999, true));
        assert!(gap_is_lost(2_000, true));
        assert!(!gap_is_lost(9_999, false));
        assert!(gap_is_lost(10_000, false));
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        let b: Vec<i64> = (0..8).map(backoff_secs).collect();
        assert_eq!(b, vec![2, 4, 8, 16, 30, 30, 30, 30]);
        assert!(has_room(1, true, 3));
        assert!(!has_room(2, true, 3));
        assert!(!has_room(3, false, 3));
    }
}
