//! The layout of the file backend's files: one process's part, or the
//! archive of dead processes' parts.
//!
//! Little-endian throughout: the magic `TTLPART\0`, the layout version
//! (`u32`), then the owner (`u8` 1 and `pid: u32, token: u64`, or `u8` 0
//! for the archive), the archive's generation (`u64`) and the names of the
//! files it absorbed, the families, and an FNV-1a checksum (`u64`) of
//! everything before it. A file that is cut short, from another layout
//! version, or does not match its checksum is refused with what is wrong.

use crate::backend::mode::GaugeMode;
use crate::backend::part::{Part, PartFamily, PartSeries, ProcessId};
use crate::collect::snapshot::{HistogramValue, MetricKind, Value};
use crate::store::histogram::ExpBuckets;

const MAGIC: &[u8; 8] = b"TTLPART\0";
/// The layout this telltale writes and reads.
pub(crate) const VERSION: u32 = 1;

/// A decoded file: the part, and for an archive its generation and the
/// names of the files it absorbed.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Decoded {
    pub(crate) part: Part,
    pub(crate) generation: u64,
    pub(crate) absorbed: Vec<String>,
}

// ----- writing ----------------------------------------------------------------------

struct Out(Vec<u8>);

impl Out {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }
    fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn opt_f64(&mut self, v: Option<f64>) {
        match v {
            Some(v) => {
                self.u8(1);
                self.f64(v);
            }
            None => self.u8(0),
        }
    }
}

fn kind_code(kind: MetricKind) -> u8 {
    match kind {
        MetricKind::Counter => 0,
        MetricKind::Gauge => 1,
        MetricKind::Histogram => 2,
    }
}

/// Modes are stored as their place in [`GaugeMode::ALL`].
const MODES: [GaugeMode; 7] = GaugeMode::ALL;

pub(crate) fn mode_code(mode: GaugeMode) -> u8 {
    MODES.iter().position(|m| *m == mode).unwrap_or(0) as u8
}

/// The inverse of [`mode_code`].
pub(crate) fn mode_of(code: u8) -> Option<GaugeMode> {
    MODES.get(code as usize).copied()
}

/// Encodes a part (with an archive's generation and absorbed names).
pub(crate) fn encode(part: &Part, generation: u64, absorbed: &[String]) -> Vec<u8> {
    let mut out = Out(Vec::with_capacity(64 + part.len() * 64));
    out.0.extend_from_slice(MAGIC);
    out.u32(VERSION);
    match part.owner {
        Some(p) => {
            out.u8(1);
            out.u32(p.pid);
            out.u64(p.token);
        }
        None => out.u8(0),
    }
    out.u64(generation);
    out.len(absorbed.len());
    for name in absorbed {
        out.str(name);
    }
    out.len(part.families.len());
    for f in &part.families {
        out.str(&f.name);
        out.str(&f.help);
        match &f.unit {
            Some(u) => {
                out.u8(1);
                out.str(u);
            }
            None => out.u8(0),
        }
        out.u8(kind_code(f.kind));
        out.u8(mode_code(f.mode));
        out.len(f.series.len());
        for s in &f.series {
            out.len(s.labels.len());
            for (k, v) in &s.labels {
                out.str(k);
                out.str(v);
            }
            out.opt_f64(s.created);
            out.f64(s.changed);
            match &s.value {
                Value::Counter(v) | Value::Gauge(v) => out.f64(*v),
                Value::Histogram(h) => {
                    out.u64(h.count);
                    out.f64(h.sum);
                    out.len(h.buckets.len());
                    for &(le, n) in &h.buckets {
                        out.f64(le);
                        out.u64(n);
                    }
                    let e = &h.exponential;
                    let (scale, buckets) = e.raw();
                    out.f64(e.sum);
                    out.opt_f64(e.min);
                    out.opt_f64(e.max);
                    out.f64(scale);
                    out.u64(e.zero);
                    out.u64(e.overflow);
                    out.len(buckets.len());
                    for &(i, n) in buckets {
                        out.len(i);
                        out.u64(n);
                    }
                }
            }
        }
    }
    let sum = checksum(&out.0);
    out.u64(sum);
    out.0
}

/// FNV-1a over `bytes`.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

// ----- reading ----------------------------------------------------------------------

struct In<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl In<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(format!(
                "cut short at byte {} of {}",
                self.at,
                self.bytes.len()
            ));
        };
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn f64(&mut self) -> Result<f64, String> {
        Ok(f64::from_bits(self.u64()?))
    }
    /// A count of items, each at least `min` bytes: more than the rest of
    /// the file could hold is an error, not an allocation.
    fn count(&mut self, min: usize) -> Result<usize, String> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min) > self.bytes.len() - self.at {
            return Err(format!(
                "a count of {n} at byte {} runs past the end",
                self.at - 4
            ));
        }
        Ok(n)
    }
    fn str(&mut self) -> Result<String, String> {
        let n = self.count(1)?;
        let at = self.at;
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| format!("text at byte {at} is not UTF-8"))
    }
    fn opt_f64(&mut self) -> Result<Option<f64>, String> {
        Ok(if self.u8()? == 1 {
            Some(self.f64()?)
        } else {
            None
        })
    }
}

/// Decodes a file's bytes, or says what is wrong with them.
pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded, String> {
    if bytes.len() < MAGIC.len() + 4 + 8 || &bytes[..MAGIC.len()] != MAGIC {
        return Err("not a telltale backend file".to_owned());
    }
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if version != VERSION {
        return Err(format!(
            "layout version {version}, written by another telltale; this one reads version {VERSION}"
        ));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    let mut stored = [0u8; 8];
    stored.copy_from_slice(sum);
    if checksum(body) != u64::from_le_bytes(stored) {
        return Err("checksum mismatch: the file is cut short or damaged".to_owned());
    }
    let mut r = In {
        bytes: body,
        at: 12,
    };
    let owner = match r.u8()? {
        1 => Some(ProcessId {
            pid: r.u32()?,
            token: r.u64()?,
        }),
        _ => None,
    };
    let generation = r.u64()?;
    let absorbed = (0..r.count(4)?)
        .map(|_| r.str())
        .collect::<Result<_, _>>()?;
    let mut families = Vec::new();
    for _ in 0..r.count(8)? {
        let name = r.str()?;
        let help = r.str()?;
        let unit = if r.u8()? == 1 { Some(r.str()?) } else { None };
        let kind = match r.u8()? {
            0 => MetricKind::Counter,
            1 => MetricKind::Gauge,
            2 => MetricKind::Histogram,
            k => return Err(format!("family {name:?} has unknown type {k}")),
        };
        let mode = mode_of(r.u8()?).unwrap_or_default();
        let mut series = Vec::new();
        for _ in 0..r.count(8)? {
            let labels = (0..r.count(8)?)
                .map(|_| Ok((r.str()?, r.str()?)))
                .collect::<Result<Vec<_>, String>>()?;
            let created = r.opt_f64()?;
            let changed = r.f64()?;
            let value = match kind {
                MetricKind::Counter => Value::Counter(r.f64()?),
                MetricKind::Gauge => Value::Gauge(r.f64()?),
                MetricKind::Histogram => Value::Histogram(histogram(&mut r)?),
            };
            series.push(PartSeries {
                labels,
                value,
                created,
                changed,
            });
        }
        families.push(PartFamily {
            name,
            help,
            unit,
            kind,
            mode,
            series,
        });
    }
    Ok(Decoded {
        part: Part { owner, families },
        generation,
        absorbed,
    })
}

fn histogram(r: &mut In<'_>) -> Result<HistogramValue, String> {
    let count = r.u64()?;
    let sum = r.f64()?;
    let buckets = (0..r.count(16)?)
        .map(|_| Ok((r.f64()?, r.u64()?)))
        .collect::<Result<Vec<_>, String>>()?;
    let mut e = ExpBuckets::default();
    e.sum = r.f64()?;
    e.min = r.opt_f64()?;
    e.max = r.opt_f64()?;
    let scale = r.f64()?;
    e.zero = r.u64()?;
    e.overflow = r.u64()?;
    let indexed = (0..r.count(12)?)
        .map(|_| Ok((r.u32()? as usize, r.u64()?)))
        .collect::<Result<Vec<_>, String>>()?;
    Ok(HistogramValue {
        count,
        sum,
        buckets,
        exponential: e.with_raw(scale, &indexed),
    })
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // the values compared are exact
mod tests {
    use super::*;

    fn sample() -> Part {
        let exp = crate::store::histogram::from_values([0.25, 3.0, 3.0]);
        Part {
            owner: Some(ProcessId { pid: 42, token: 9 }),
            families: vec![
                PartFamily {
                    name: "jobs".into(),
                    help: "Jobs \"done\".\n".into(),
                    unit: None,
                    kind: MetricKind::Counter,
                    mode: GaugeMode::All,
                    series: vec![PartSeries {
                        labels: vec![("queue".into(), "é\"\n".into())],
                        value: Value::Counter(12.0),
                        created: Some(1.5),
                        changed: 0.0,
                    }],
                },
                PartFamily {
                    name: "wait_seconds".into(),
                    help: String::new(),
                    unit: Some("seconds".into()),
                    kind: MetricKind::Histogram,
                    mode: GaugeMode::LiveSum,
                    series: vec![PartSeries {
                        labels: Vec::new(),
                        value: Value::Histogram(HistogramValue::from_exponential(exp, &[1.0, 5.0])),
                        created: None,
                        changed: 0.0,
                    }],
                },
            ],
        }
    }

    #[test]
    fn a_part_reads_back_as_written() {
        let part = sample();
        let bytes = encode(&part, 3, &["proc-1-2.tt".to_owned()]);
        let back = decode(&bytes).unwrap();
        assert_eq!(back.part, part);
        assert_eq!(
            (back.generation, back.absorbed),
            (3, vec!["proc-1-2.tt".to_owned()])
        );
    }

    #[test]
    fn damaged_files_are_refused_with_what_is_wrong() {
        let bytes = encode(&sample(), 0, &[]);
        for cut in [0, 5, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[40] ^= 1;
        assert!(decode(&flipped).unwrap_err().contains("checksum"));
        let mut other = bytes.clone();
        other[8] = 7;
        assert!(decode(&other).unwrap_err().contains("layout version 7"));
        assert!(decode(b"hello world, not a part")
            .unwrap_err()
            .contains("not a telltale"));
        // A lying count cannot make the reader allocate or read past the end.
        let mut lying = encode(&Part::default(), 0, &[]);
        let n = lying.len();
        lying[n - 12..n - 8].copy_from_slice(&u32::MAX.to_le_bytes());
        let body = lying.len() - 8;
        let sum = checksum(&lying[..body]);
        lying[body..].copy_from_slice(&sum.to_le_bytes());
        assert!(decode(&lying).unwrap_err().contains("runs past the end"));
    }
}
