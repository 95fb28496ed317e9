//! One generated row as values, and multi-row inserts of them on both backends.

use crate::store::Backend;
use sqlx::AnyConnection;

/// At most this many bound values in one statement (SQLite allows 32,766, PostgreSQL 65,535).
const MAX_PARAMS: usize = 16_000;

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Val {
    Int(i64),
    Real(f64),
    Text(String),
    /// A null of an integer column (PostgreSQL checks the type of a bound null too).
    NullInt,
    NullText,
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(v)
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Self {
        Val::Real(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(v.to_string())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(v)
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Self {
        Val::Text(v.clone())
    }
}
impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Val::NullInt, Val::Int)
    }
}
impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Self {
        v.map_or(Val::NullText, Val::Text)
    }
}
impl From<Option<&str>> for Val {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Val::NullText, Into::into)
    }
}

macro_rules! row {
    ($($v:expr),* $(,)?) => { vec![$($crate::store::history::rows::Val::from($v)),*] };
}
pub(super) use row;

/// Rows whose first column is an identity the generator chose.
pub(super) async fn insert(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &str,
    cols: &[&str],
    rows: Vec<Vec<Val>>,
) -> Result<usize, sqlx::Error> {
    let overriding = match backend {
        Backend::Postgres => " overriding system value",
        Backend::Sqlite => "",
    };
    insert_rows(
        conn,
        backend == Backend::Sqlite,
        table,
        cols,
        overriding,
        rows,
    )
    .await
}

/// Rows whose id the database gives.
pub(super) async fn insert_auto(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &str,
    cols: &[&str],
    rows: Vec<Vec<Val>>,
) -> Result<usize, sqlx::Error> {
    insert_rows(conn, backend == Backend::Sqlite, table, cols, "", rows).await
}

async fn insert_rows(
    conn: &mut AnyConnection,
    sqlite: bool,
    table: &str,
    cols: &[&str],
    overriding: &str,
    rows: Vec<Vec<Val>>,
) -> Result<usize, sqlx::Error> {
    let n = rows.len();
    let per = (MAX_PARAMS / cols.len()).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Val>> = rows.by_ref().take(per).collect();
        let mut sql = format!(
            "insert into {table} ({}){overriding} values ",
            cols.join(", ")
        );
        let mut p = 0;
        for (i, r) in chunk.iter().enumerate() {
            debug_assert_eq!(r.len(), cols.len(), "{table}: a row of the wrong width");
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for j in 0..r.len() {
                p += 1;
                // Plain `?` on SQLite: sqlx asks SQLite for each parameter's name, which walks a
                // list of the named ones (`$N`, `?N`): the square of the parameters in a statement
                // this long (86 % of the generator's time, by perf).
                let sep = if j == 0 { "" } else { ", " };
                if sqlite {
                    sql.push_str(&format!("{sep}?"));
                } else {
                    sql.push_str(&format!("{sep}${p}"));
                }
            }
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for v in chunk.into_iter().flatten() {
            q = match v {
                Val::Int(i) => q.bind(i),
                Val::Real(f) => q.bind(f),
                Val::Text(t) => q.bind(t),
                Val::NullInt => q.bind(None::<i64>),
                Val::NullText => q.bind(None::<String>),
            };
        }
        q.execute(&mut *conn).await?;
    }
    Ok(n)
}
