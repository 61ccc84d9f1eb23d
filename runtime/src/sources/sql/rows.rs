//! Rows to series: label columns as text, value columns as numbers, for
//! any driver's rows.

use sqlx::{Column as _, ColumnIndex, Decode, Row, Type, ValueRef as _};

use super::query::{QueryConfig, QueryType};
use crate::sources::batch::Batch;
use crate::sources::source::SourceError;

/// The names of a query's series: its name, or `<name>_<column>` for each
/// of several value columns.
pub(crate) fn series_names(q: &QueryConfig) -> Vec<String> {
    if q.value_columns.is_empty() {
        vec![q.name.clone()]
    } else {
        q.value_columns
            .iter()
            .map(|c| format!("{}_{c}", q.name.strip_suffix("_total").unwrap_or(&q.name)))
            .collect()
    }
}

/// The column types a row is read through.
pub(crate) trait Readable: Row
where
    for<'a> &'a str: ColumnIndex<Self>,
{
    /// Whether the column is NULL.
    fn is_null(&self, column: &str) -> Result<bool, sqlx::Error> {
        Ok(self.try_get_raw(column)?.is_null())
    }

    /// The column as a number, whatever numeric type it has.
    fn number(&self, column: &str) -> Option<f64>;

    /// The column as text, whatever type it has.
    fn text(&self, column: &str) -> Option<String>;
}

fn get<'r, R, T>(row: &'r R, column: &str) -> Option<T>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    T: Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get::<T, _>(column).ok()
}

/// Implements [`Readable`] for a driver's row through the types it decodes.
macro_rules! readable {
    ($row:ty, numbers: [$($n:ty),*], texts: [$($t:ty),*]) => {
        impl Readable for $row {
            #[allow(clippy::cast_precision_loss, clippy::cast_lossless)] // as Prometheus values are
            fn number(&self, column: &str) -> Option<f64> {
                None$(.or_else(|| get::<_, $n>(self, column).map(|v| v as f64)))*
            }

            fn text(&self, column: &str) -> Option<String> {
                get::<_, String>(self, column)
                    $(.or_else(|| get::<_, $t>(self, column).map(|v| v.to_string())))*
            }
        }
    };
}

#[cfg(feature = "sql-sqlite")]
readable!(sqlx::sqlite::SqliteRow, numbers: [f64, i64], texts: [i64, f64, bool]);
#[cfg(feature = "sql-postgres")]
readable!(sqlx::postgres::PgRow, numbers: [f64, f32, i64, i32, i16], texts: [i64, i32, i16, f64, f32, bool]);
#[cfg(feature = "sql-mysql")]
readable!(sqlx::mysql::MySqlRow, numbers: [f64, f32, i64, i32, i16, i8, u64, u32, u16, u8], texts: [i64, i32, i16, i8, u64, u32, u16, u8, f64, f32, bool]);

/// A column's value as text, for a label (NULL: empty).
fn label_of<R: Readable>(row: &R, column: &str) -> Result<String, SourceError>
where
    for<'a> &'a str: ColumnIndex<R>,
{
    if row
        .is_null(column)
        .map_err(|e| SourceError::query(format!("label column {column:?}: {e}")))?
    {
        return Ok(String::new());
    }
    row.text(column).ok_or_else(|| {
        SourceError::query(format!("label column {column:?} cannot be read as text"))
    })
}

/// A column's value as a number; `None` for NULL.
fn value_of<R: Readable>(row: &R, column: &str) -> Result<Option<f64>, SourceError>
where
    for<'a> &'a str: ColumnIndex<R>,
{
    if row
        .is_null(column)
        .map_err(|e| SourceError::query(format!("value column {column:?}: {e}")))?
    {
        return Ok(None);
    }
    if let Some(v) = row.number(column) {
        return Ok(Some(v));
    }
    match row.text(column) {
        Some(text) => text.trim().parse::<f64>().map(Some).map_err(|_| {
            SourceError::query(format!(
                "value column {column:?} holds {text:?}, not a number (cast it in the SQL)"
            ))
        }),
        None => Err(SourceError::query(format!(
            "value column {column:?} is not a number this driver reads (cast it to a float or integer in the SQL)"
        ))),
    }
}

/// Adds the series of one row; how many of its values were NULL.
pub(crate) fn add_row<R: Readable>(
    q: &QueryConfig,
    row: &R,
    batch: &mut Batch,
) -> Result<u64, SourceError>
where
    for<'a> &'a str: ColumnIndex<R>,
{
    let mut labels: Vec<(String, String)> = Vec::new();
    for column in &q.label_columns {
        labels.push((column.clone(), label_of(row, column)?));
    }
    labels.extend(q.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    let value_columns: Vec<String> = if !q.value_columns.is_empty() {
        q.value_columns.clone()
    } else if let Some(column) = &q.value_column {
        vec![column.clone()]
    } else {
        let others: Vec<String> = row
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .filter(|c| !q.label_columns.contains(c))
            .collect();
        match others.as_slice() {
            [one] => vec![one.clone()],
            _ => {
                return Err(SourceError::query(format!(
                    "query {:?} returns the columns {others:?} besides its labels: name the value with `value_column`",
                    q.name
                )))
            }
        }
    };
    let names = series_names(q);
    let pairs: Vec<(&str, &str)> = labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut nulls = 0;
    for (name, column) in names.iter().zip(&value_columns) {
        let Some(value) = value_of(row, column)? else {
            nulls += 1;
            continue;
        };
        let added = match q.kind {
            QueryType::Gauge => batch.gauge(name, &q.help, &pairs, value),
            QueryType::Counter => batch.counter(name, &q.help, &pairs, value),
        };
        added.map_err(|e| SourceError::query(format!("query {:?}: {e}", q.name)))?;
    }
    Ok(nulls)
}
