//! A station's event numbers: the book (`last_event_seq` is the floor: every number at or below
//! it is had or written off; `top_event_seq` the highest known; `seq_boot_id` the boot whose
//! numbering is followed) and the record of each number with the message it came in
//! (`cut_event_seqs`, kept for [`SEQ_WINDOW`] numbers below the floor to tell a copy from a
//! conflict). What a number means is decided in `domain::station_seq`.

use crate::domain::station_seq::{Recorded, SeqBook, SEQ_WINDOW};
use sqlx::{AnyConnection, AnyPool, Row};

/// The book of station `id` (None: no such station).
pub async fn seq_book(conn: &mut AnyConnection, id: &str) -> Result<Option<SeqBook>, sqlx::Error> {
    let row = sqlx::query(
        "select last_event_seq, top_event_seq, seq_boot_id, boot_id from cut_stations where id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(SeqBook {
            floor: r.try_get("last_event_seq")?,
            top: r.try_get("top_event_seq")?,
            boot: r.try_get("seq_boot_id")?,
            connected_boot: r.try_get("boot_id")?,
        })
    })
    .transpose()
}

/// The message number `seq` of station `id` was recorded with, while it is kept.
pub async fn recorded_seq(
    conn: &mut AnyConnection,
    id: &str,
    seq: i64,
) -> Result<Option<Recorded>, sqlx::Error> {
    let row = sqlx::query(
        "select message_id, boot_id from cut_event_seqs where station_id = $1 and seq = $2",
    )
    .bind(id)
    .bind(seq)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some(r) => {
            let m: Option<String> = r.try_get("message_id")?;
            Some(Recorded {
                // a number recorded before messages were kept matches no message: a conflict
                // is then dropped as one, which is what a copy would be too
                message_id: m.unwrap_or_default(),
                boot_id: r.try_get("boot_id")?,
            })
        }
        None => None,
    })
}

/// Records event number `seq` (judged new), follows its boot, and moves the floor up over every
/// contiguous number had; numbers above a hole wait above the floor.
pub async fn take_event_seq(
    conn: &mut AnyConnection,
    id: &str,
    seq: i64,
    message_id: &str,
    boot_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into cut_event_seqs (station_id, seq, message_id, boot_id) values ($1, $2, $3, $4)
         on conflict (station_id, seq) do update set message_id = excluded.message_id, boot_id = excluded.boot_id",
    )
    .bind(id)
    .bind(seq)
    .bind(message_id)
    .bind(boot_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "update cut_stations set seq_boot_id = $3,
           top_event_seq = case when top_event_seq < $2 then $2 else top_event_seq end
         where id = $1",
    )
    .bind(id)
    .bind(seq)
    .bind(boot_id)
    .execute(&mut *conn)
    .await?;
    let floor: i64 = sqlx::query_scalar("select last_event_seq from cut_stations where id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let floor = advance(conn, id, floor).await?;
    set_floor(conn, id, floor).await
}

/// A state reported `last_event_seq` (judged plausible): events up to it exist.
pub async fn note_reported_seq(
    conn: &mut AnyConnection,
    id: &str,
    seq: i64,
    boot_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update cut_stations set seq_boot_id = $3,
           top_event_seq = case when top_event_seq < $2 then $2 else top_event_seq end
         where id = $1",
    )
    .bind(id)
    .bind(seq)
    .bind(boot_id)
    .execute(&mut *conn)
    .await?;
    let floor: i64 = sqlx::query_scalar("select last_event_seq from cut_stations where id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    set_floor(conn, id, floor).await
}

/// The station's numbering began again (a bridge that lost its state): a new book at `base`
/// following `boot_id`. The old numbers are forgotten, and so is a fault counted in them.
pub async fn restart_book(
    conn: &mut AnyConnection,
    id: &str,
    base: i64,
    boot_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("delete from cut_event_seqs where station_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "update cut_stations set last_event_seq = $2, top_event_seq = $2, seq_boot_id = $3,
           gap_since = null, fault_seq = null,
           mode = case when mode = 'fault' then null else mode end
         where id = $1",
    )
    .bind(id)
    .bind(base)
    .bind(boot_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The floor moved up from `floor` over the numbers had above it.
async fn advance(conn: &mut AnyConnection, id: &str, floor: i64) -> Result<i64, sqlx::Error> {
    let seen: Vec<i64> = sqlx::query_scalar(
        "select seq from cut_event_seqs where station_id = $1 and seq > $2 order by seq limit 10000",
    )
    .bind(id)
    .bind(floor)
    .fetch_all(&mut *conn)
    .await?;
    Ok(crate::domain::cutting::advance_floor(floor, &seen))
}

/// Sets the floor, forgets the numbers far enough below it, and notes whether events are
/// missing now (the floor below the highest number known) and since when.
async fn set_floor(conn: &mut AnyConnection, id: &str, floor: i64) -> Result<(), sqlx::Error> {
    sqlx::query("delete from cut_event_seqs where station_id = $1 and seq <= $2")
        .bind(id)
        .bind(floor - SEQ_WINDOW)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "update cut_stations set last_event_seq = $2,
           gap_since = case when top_event_seq > $2 then coalesce(gap_since, $3) else null end
         where id = $1",
    )
    .bind(id)
    .bind(floor)
    .bind(crate::store::now_db())
    .execute(conn)
    .await?;
    Ok(())
}

/// A station with events missing.
#[derive(Debug, Clone)]
pub struct Gap {
    pub station: String,
    pub floor: i64,
    pub top: i64,
    /// Events seen above the floor (above the hole): none when only a state counts the hole.
    pub seen_above: i64,
    pub since: String,
}

pub async fn gaps(pool: &AnyPool) -> Result<Vec<Gap>, sqlx::Error> {
    let rows = sqlx::query(
        "select s.id, s.last_event_seq, s.top_event_seq, s.gap_since,
           (select count(*) from cut_event_seqs e
             where e.station_id = s.id and e.seq > s.last_event_seq) as later
         from cut_stations s where s.gap_since is not null",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Gap {
                station: r.try_get("id")?,
                floor: r.try_get("last_event_seq")?,
                top: r.try_get("top_event_seq")?,
                seen_above: r.try_get("later")?,
                since: r.try_get("gap_since")?,
            })
        })
        .collect()
}

/// After konsign asked about the station's jobs: the missing events up to `top` are written
/// off (an event among them that still arrives is dropped as settled: what it said was asked).
pub async fn write_off_gap(
    conn: &mut AnyConnection,
    id: &str,
    top: i64,
) -> Result<(), sqlx::Error> {
    let floor = advance(conn, id, top).await?;
    set_floor(conn, id, floor).await
}
