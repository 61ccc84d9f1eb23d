//! The Redis backend: this process records into its own cells; a flusher
//! sends what changed every flush interval (and at exit) as one script
//! call, applied exactly once; collections read every process's values
//! back and merge them.
//!
//! Keys, under the key prefix `p`: `p meta` (each family's type, mode,
//! unit and help), `p c:<family>` (counter totals by label set),
//! `p h:<family>` (histogram count, sum, classic and exponential buckets
//! by label set), `p g:<family>` (gauge values by label set and process),
//! `p created:<family>`, `p procs` (each process's last flush time) and
//! `p seq` (the last batch applied per process). No key expires: a series
//! stays until someone deletes its keys.
//!
//! A flush is one `EVAL` of a script that checks the batch's sequence
//! number against `p seq`, so a batch sent again after a lost reply is
//! not counted twice. A key that holds something other than a hash
//! (written by someone else) is skipped: its series' changes are dropped,
//! counted in `telltale_backend_dropped_total` and reported in
//! [`Status::drop_reason`](crate::backend::Status::drop_reason); the rest
//! of the batch is applied. While Redis cannot be reached,
//! changes accumulate in this process (one pending value per changed
//! series, not one per change) and go in the first flush that works; the
//! last successful read is served meanwhile.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crate::backend::delegate::{self, Store};
use crate::backend::kind::RedisOptions;
use crate::backend::mode::GaugeMode;
use crate::backend::part::{self, Changes, Part, PartFamily, PartSeries, ProcessId};
use crate::backend::status;
use crate::collect::registry as shared;
use crate::collect::snapshot::{HistogramValue, MetricKind, Snapshot, Value};
use crate::error::Error;
use crate::store::histogram::ExpBuckets;

const SCRIPT: &str = r"
local proc = ARGV[1]
local seq = tonumber(ARGV[2])
local skip = {}
local out = {'1'}
for i = 3, #ARGV, 4 do
  local key = ARGV[i + 1]
  if skip[key] == nil then
    local t = redis.call('TYPE', key).ok
    skip[key] = (t ~= 'hash' and t ~= 'none')
    if skip[key] then table.insert(out, key .. ' holds a ' .. t) end
  end
end
local last = tonumber(redis.call('HGET', KEYS[1], proc) or '0')
if seq <= last then return {'0'} end
for i = 3, #ARGV, 4 do
  local op, key, field, value = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if not skip[key] then
    if op == 'f' then redis.call('HINCRBYFLOAT', key, field, value)
    elseif op == 'i' then redis.call('HINCRBY', key, field, value)
    elseif op == 'n' then redis.call('HSETNX', key, field, value)
    else redis.call('HSET', key, field, value) end
  end
end
redis.call('HSET', KEYS[1], proc, seq)
return out
";

/// Reads hashes, an empty one for a key that holds something else.
const READ: &str = r"
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('TYPE', key).ok == 'hash' then
    out[i] = redis.call('HGETALL', key)
  else
    out[i] = {}
  end
end
return out
";

/// Separates a series' label key from the part of it a field holds.
const SEP: char = '\u{1e}';

/// What Redis holds of this process's contribution to one series.
#[derive(Debug, Clone, PartialEq)]
enum Sent {
    Counter(f64),
    Gauge(f64),
    Histogram(HistogramValue),
}

type SeriesKey = (String, String);

#[derive(Debug, Default)]
struct Flusher {
    /// Per series: what Redis has applied of this process's values.
    acked: HashMap<SeriesKey, Sent>,
    /// Families whose metadata Redis has.
    described: HashSet<String>,
    /// A batch sent without a reply: sent again, unchanged, until applied.
    inflight: Option<Batch>,
    refusals: u32,
    seq: u64,
    changes: Changes,
}

#[derive(Debug, Clone)]
struct Batch {
    /// The script's arguments: this process, the sequence number, then
    /// `op key field value` four at a time.
    args: Vec<String>,
    /// What `acked` becomes once the batch is applied.
    target: Vec<(SeriesKey, Sent)>,
    described: Vec<String>,
}

/// The merged values Redis held at the last read that worked.
#[derive(Debug, Default, Clone)]
struct Remote {
    families: BTreeMap<String, RemoteFamily>,
    /// Last flush time (Unix seconds) of every process.
    procs: HashMap<ProcessId, f64>,
}

#[derive(Debug, Clone)]
struct RemoteFamily {
    help: String,
    unit: Option<String>,
    kind: MetricKind,
    mode: GaugeMode,
    /// Counter and histogram totals over every process, by label key.
    totals: BTreeMap<String, Sent>,
    /// Gauge values by label key and process: (value, changed).
    gauges: BTreeMap<(String, ProcessId), (f64, f64)>,
    created: HashMap<String, f64>,
}

struct RedisStore {
    options: RedisOptions,
    me: ProcessId,
    client: redis::Client,
    flush_conn: Mutex<Option<redis::Connection>>,
    read_conn: Mutex<(Option<redis::Connection>, Option<Instant>)>,
    flusher: Mutex<Flusher>,
    /// What renders read without waiting for a flush in progress (which
    /// holds `flusher` while it talks to the server): the applied values,
    /// and the renders' own record of gauge changes.
    view: Mutex<(std::sync::Arc<HashMap<SeriesKey, Sent>>, Changes)>,
    remote: Mutex<Remote>,
    script: redis::Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("options", &self.options)
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

static STORE: OnceLock<RedisStore> = OnceLock::new();

fn error(reason: impl std::fmt::Display) -> Error {
    Error::Backend {
        backend: "redis",
        reason: reason.to_string(),
    }
}

/// A process id that no other process shares, on any host: the pid and
/// a random token.
fn own_id() -> ProcessId {
    use std::hash::BuildHasher;
    let pid = std::process::id();
    let token = std::collections::hash_map::RandomState::new().hash_one((pid, Instant::now()));
    ProcessId {
        pid,
        token: token >> 1,
    }
}

/// Starts the Redis backend. A URL that does not parse is an error; a
/// server that cannot be reached is not: this process records on its
/// own, reports the backend down and sends everything once it can.
pub(crate) fn start(options: &RedisOptions) -> Result<(), Error> {
    if options.url.starts_with("rediss://") {
        return Err(error(format!(
            "{}: TLS (rediss://) is not supported",
            options.url
        )));
    }
    let fresh = RedisStore::new(options)?;
    let store = STORE.get_or_init(|| fresh);
    delegate::install(store);
    status::started("redis");
    crate::backend::exit::flush_at_exit();
    let every = options.flush_interval;
    // The first flush (and connection) happens on the flusher's thread:
    // choosing the backend never waits for the server.
    std::thread::Builder::new()
        .name("telltale-backend-redis".into())
        .spawn(move || loop {
            if let Err(e) = store.flush_now() {
                status::flushed(Err(&e));
            }
            std::thread::sleep(every);
        })
        .map_err(error)?;
    Ok(())
}

fn label_key(labels: &[(String, String)]) -> String {
    serde_json::to_string(labels).unwrap_or_default()
}

fn parse_labels(key: &str) -> Option<Vec<(String, String)>> {
    serde_json::from_str(key).ok()
}

fn float(v: f64) -> String {
    format!("{v:?}")
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Meta {
    kind: String,
    mode: String,
    unit: Option<String>,
    help: String,
}

impl RedisStore {
    /// A store for the server of `options` (not connected yet).
    fn new(options: &RedisOptions) -> Result<RedisStore, Error> {
        Ok(RedisStore {
            options: options.clone(),
            me: own_id(),
            client: redis::Client::open(options.url.as_str())
                .map_err(|e| error(format!("url {:?}: {e}", options.url)))?,
            flush_conn: Mutex::new(None),
            read_conn: Mutex::new((None, None)),
            flusher: Mutex::new(Flusher::default()),
            view: Mutex::new((std::sync::Arc::default(), Changes::default())),
            remote: Mutex::new(Remote::default()),
            script: redis::Script::new(SCRIPT),
        })
    }

    fn key(&self, what: &str, family: &str) -> String {
        format!("{}{what}:{family}", self.options.key_prefix)
    }

    fn connect(&self) -> Result<redis::Connection, String> {
        let t = self.options.timeout;
        let con = self
            .client
            .get_connection_with_timeout(t)
            .map_err(|e| format!("{}: {e}", self.options.url))?;
        let _ = con.set_read_timeout(Some(t));
        let _ = con.set_write_timeout(Some(t));
        Ok(con)
    }

    /// Sends the batch in flight, if any, then what changed since, in
    /// batches of at most `queue_size` series.
    fn flush_now(&self) -> Result<(), String> {
        let snapshot = shared::collect_shared();
        let mut flusher = self.flusher.lock().unwrap_or_else(PoisonError::into_inner);
        let local = Part::from_snapshot(self.me, &snapshot, &mut flusher.changes);
        let mut conn = self
            .flush_conn
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            if flusher.inflight.is_none() {
                let batch = self.next_batch(&mut flusher, &local);
                flusher.inflight = Some(batch);
            }
            let Some(batch) = flusher.inflight.clone() else {
                return Ok(());
            };
            let series = batch.target.len();
            if conn.is_none() {
                *conn = Some(self.connect()?);
            }
            let Some(c) = conn.as_mut() else {
                return Ok(());
            };
            let mut call = self.script.prepare_invoke();
            call.key(format!("{}seq", self.options.key_prefix));
            for a in &batch.args {
                call.arg(a);
            }
            match call.invoke::<Vec<String>>(c) {
                Ok(reply) => {
                    let skipped: Vec<&String> = reply.iter().skip(1).collect();
                    if !skipped.is_empty() {
                        let lost = batch
                            .target
                            .iter()
                            .filter(|((family, _), _)| {
                                ["c", "h", "g"].iter().any(|w| {
                                    skipped.iter().any(|k| {
                                        k.starts_with(&format!("{} ", self.key(w, family)))
                                    })
                                })
                            })
                            .count();
                        status::dropped(
                            lost as u64,
                            &format!(
                                "{}: {}, not a hash: {lost} series changes dropped",
                                self.options.url,
                                skipped
                                    .iter()
                                    .map(|k| format!("key {k}"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        );
                    }
                    self.apply(&mut flusher, batch);
                    flusher.refusals = 0;
                    status::flushed(Ok(()));
                }
                Err(e) if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() => {
                    *conn = None;
                    return Err(format!("{}: {e}", self.options.url));
                }
                Err(e) => {
                    // Refused by the server (out of memory, say): after three
                    // refusals the batch is dropped, counted and reported,
                    // never retried forever.
                    flusher.refusals += 1;
                    if flusher.refusals < 3 {
                        return Err(format!("{}: {e}", self.options.url));
                    }
                    let reason = format!(
                        "{}: batch of {series} series changes dropped after three refusals: {e}",
                        self.options.url
                    );
                    status::dropped(series as u64, &reason);
                    self.apply(&mut flusher, batch);
                    flusher.refusals = 0;
                    return Err(reason);
                }
            }
            if series < self.options.queue_size {
                return Ok(());
            }
        }
    }

    /// The next batch: a heartbeat, metadata of families Redis does not
    /// describe yet, and the changes of at most `queue_size` series.
    fn next_batch(&self, flusher: &mut Flusher, local: &Part) -> Batch {
        flusher.seq += 1;
        let proc = self.me.key();
        let mut args = vec![proc.clone(), flusher.seq.to_string()];
        let op = |args: &mut Vec<String>, o: &str, key: String, field: String, value: String| {
            args.extend([o.to_owned(), key, field, value]);
        };
        op(
            &mut args,
            "s",
            format!("{}procs", self.options.key_prefix),
            proc.clone(),
            float(crate::store::clock::unix_now()),
        );
        let mut target = Vec::new();
        let mut described = Vec::new();
        'families: for f in &local.families {
            if !flusher.described.contains(&f.name) {
                let meta = Meta {
                    kind: f.kind.as_str().to_owned(),
                    mode: f.mode.as_str().to_owned(),
                    unit: f.unit.clone(),
                    help: f.help.clone(),
                };
                op(
                    &mut args,
                    "s",
                    format!("{}meta", self.options.key_prefix),
                    f.name.clone(),
                    serde_json::to_string(&meta).unwrap_or_default(),
                );
                described.push(f.name.clone());
            }
            for s in &f.series {
                if target.len() >= self.options.queue_size {
                    break 'families;
                }
                let labels = label_key(&s.labels);
                let key = (f.name.clone(), labels.clone());
                let before = flusher.acked.get(&key);
                let now = match &s.value {
                    Value::Counter(v) => Sent::Counter(*v),
                    Value::Gauge(v) => Sent::Gauge(*v),
                    Value::Histogram(h) => Sent::Histogram(HistogramValue {
                        exponential: h.exponential.unit_scale(),
                        ..h.clone()
                    }),
                };
                if before == Some(&now) {
                    continue;
                }
                if before.is_none() {
                    if let Some(created) = s.created {
                        op(
                            &mut args,
                            "n",
                            self.key("created", &f.name),
                            labels.clone(),
                            float(created),
                        );
                    }
                }
                match (&now, before) {
                    (Sent::Counter(v), before) => {
                        let was = match before {
                            Some(Sent::Counter(b)) => *b,
                            _ => 0.0,
                        };
                        op(
                            &mut args,
                            "f",
                            self.key("c", &f.name),
                            labels.clone(),
                            float(v - was),
                        );
                    }
                    (Sent::Gauge(v), _) => op(
                        &mut args,
                        "s",
                        self.key("g", &f.name),
                        format!("{labels}{SEP}{proc}"),
                        format!("{} {}", float(*v), float(s.changed)),
                    ),
                    (Sent::Histogram(h), before) => {
                        let empty = HistogramValue::from_exponential(ExpBuckets::default(), &[]);
                        let was = match before {
                            Some(Sent::Histogram(b)) => b,
                            _ => &empty,
                        };
                        let key = self.key("h", &f.name);
                        histogram_ops(&mut args, &key, &labels, h, was);
                    }
                }
                target.push((key, now));
            }
        }
        Batch {
            args,
            target,
            described,
        }
    }

    /// Reads every family back; on failure, the last read that worked.
    fn read_remote(&self) -> Remote {
        let mut read = self
            .read_conn
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if read.0.is_none() {
            // Do not wait on an unreachable server more than once a second.
            if read.1.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
                return self.cached();
            }
            match self.connect() {
                Ok(c) => read.0 = Some(c),
                Err(e) => {
                    read.1 = Some(Instant::now());
                    status::problem(&e);
                    return self.cached();
                }
            }
        }
        let Some(con) = read.0.as_mut() else {
            return self.cached();
        };
        match self.fetch(con) {
            Ok(remote) => {
                *self.remote.lock().unwrap_or_else(PoisonError::into_inner) = remote.clone();
                remote
            }
            Err(e) => {
                read.0 = None;
                read.1 = Some(Instant::now());
                status::problem(&format!("{}: {e}", self.options.url));
                self.cached()
            }
        }
    }

    /// Records a batch as applied, and shows renders what Redis now holds.
    fn apply(&self, flusher: &mut Flusher, batch: Batch) {
        let changed = !batch.target.is_empty();
        for (key, sent) in batch.target {
            flusher.acked.insert(key, sent);
        }
        flusher.described.extend(batch.described);
        flusher.inflight = None;
        if changed {
            self.view.lock().unwrap_or_else(PoisonError::into_inner).0 =
                std::sync::Arc::new(flusher.acked.clone());
        }
    }

    fn cached(&self) -> Remote {
        self.remote
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn fetch(&self, con: &mut redis::Connection) -> redis::RedisResult<Remote> {
        let prefix = &self.options.key_prefix;
        let first = read_hashes(con, &[format!("{prefix}meta"), format!("{prefix}procs")])?;
        let (meta, procs) = match <[HashMap<String, String>; 2]>::try_from(first) {
            Ok([meta, procs]) => (meta, procs),
            Err(_) => (HashMap::new(), HashMap::new()),
        };
        let mut remote = Remote {
            procs: procs
                .iter()
                .filter_map(|(k, v)| Some((ProcessId::parse(k)?, v.parse().ok()?)))
                .collect(),
            ..Remote::default()
        };
        let mut names: Vec<(String, Meta)> = meta
            .into_iter()
            .filter_map(|(name, m)| Some((name, serde_json::from_str::<Meta>(&m).ok()?)))
            .collect();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        let mut keys = Vec::with_capacity(2 * names.len());
        for (name, m) in &names {
            let what = match m.kind.as_str() {
                "counter" => "c",
                "histogram" => "h",
                _ => "g",
            };
            keys.push(self.key(what, name));
            keys.push(self.key("created", name));
        }
        let hashes = read_hashes(con, &keys)?;
        for (i, (name, m)) in names.into_iter().enumerate() {
            let (Some(values), Some(created)) = (hashes.get(2 * i), hashes.get(2 * i + 1)) else {
                continue;
            };
            let kind = match m.kind.as_str() {
                "counter" => MetricKind::Counter,
                "histogram" => MetricKind::Histogram,
                _ => MetricKind::Gauge,
            };
            let mut family = RemoteFamily {
                help: m.help,
                unit: m.unit,
                kind,
                mode: GaugeMode::from_name(&m.mode).unwrap_or_default(),
                totals: BTreeMap::new(),
                gauges: BTreeMap::new(),
                created: created
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.parse().ok()?)))
                    .collect(),
            };
            match kind {
                MetricKind::Counter => {
                    for (labels, v) in values {
                        family
                            .totals
                            .insert(labels.clone(), Sent::Counter(v.parse().unwrap_or(0.0)));
                    }
                }
                MetricKind::Gauge => {
                    for (field, v) in values {
                        let Some((labels, proc)) = field.rsplit_once(SEP) else {
                            continue;
                        };
                        let Some(proc) = ProcessId::parse(proc) else {
                            continue;
                        };
                        let (value, changed) = v.split_once(' ').unwrap_or((v, "0"));
                        family.gauges.insert(
                            (labels.to_owned(), proc),
                            (value.parse().unwrap_or(0.0), changed.parse().unwrap_or(0.0)),
                        );
                    }
                }
                MetricKind::Histogram => {
                    for (labels, h) in read_histograms(values) {
                        family.totals.insert(labels, Sent::Histogram(h));
                    }
                }
            }
            remote.families.insert(name, family);
        }
        Ok(remote)
    }
}

/// The hashes at `keys`, in one round trip (empty for a key that holds
/// something else).
fn read_hashes(
    con: &mut redis::Connection,
    keys: &[String],
) -> redis::RedisResult<Vec<HashMap<String, String>>> {
    static SCRIPT: OnceLock<redis::Script> = OnceLock::new();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let script = SCRIPT.get_or_init(|| redis::Script::new(READ));
    let mut call = script.prepare_invoke();
    for k in keys {
        call.key(k);
    }
    let flat: Vec<Vec<String>> = call.invoke(con)?;
    Ok(flat
        .into_iter()
        .map(|pairs| {
            pairs
                .chunks_exact(2)
                .map(|kv| (kv[0].clone(), kv[1].clone()))
                .collect()
        })
        .collect())
}

/// The fields of a histogram's change from `was` to `now`.
fn histogram_ops(
    args: &mut Vec<String>,
    key: &str,
    labels: &str,
    now: &HistogramValue,
    was: &HistogramValue,
) {
    let mut add = |field: String, n: u64| {
        if n > 0 {
            args.extend([
                "i".to_owned(),
                key.to_owned(),
                format!("{labels}{SEP}{field}"),
                n.to_string(),
            ]);
        }
    };
    add("n".into(), now.count.saturating_sub(was.count));
    for &(le, n) in &now.buckets {
        let before = was
            .buckets
            .iter()
            .find(|(l, _)| l.to_bits() == le.to_bits())
            .map_or(0, |b| b.1);
        add(format!("l{}", float(le)), n.saturating_sub(before));
    }
    let diff = now.exponential.saturating_sub(&was.exponential);
    add("z".into(), diff.zero);
    add("o".into(), diff.overflow);
    for &(i, n) in diff.raw().1 {
        add(format!("b{i}"), n);
    }
    let sum = now.sum - was.sum;
    if sum != 0.0 {
        args.extend([
            "f".to_owned(),
            key.to_owned(),
            format!("{labels}{SEP}s"),
            float(sum),
        ]);
    }
}

/// Histograms from the fields of a `h:` hash, by label key.
fn read_histograms(values: &HashMap<String, String>) -> BTreeMap<String, HistogramValue> {
    #[derive(Default)]
    struct Raw {
        count: u64,
        sum: f64,
        classic: Vec<(f64, u64)>,
        zero: u64,
        overflow: u64,
        buckets: Vec<(usize, u64)>,
    }
    let mut raw: BTreeMap<String, Raw> = BTreeMap::new();
    for (field, v) in values {
        let Some((labels, part)) = field.rsplit_once(SEP) else {
            continue;
        };
        let r = raw.entry(labels.to_owned()).or_default();
        let n: u64 = v.parse().unwrap_or(0);
        match part.split_at(1) {
            ("n", "") => r.count = n,
            ("s", "") => r.sum = v.parse().unwrap_or(0.0),
            ("z", "") => r.zero = n,
            ("o", "") => r.overflow = n,
            ("l", le) => {
                if let Ok(le) = le.parse() {
                    r.classic.push((le, n));
                }
            }
            ("b", i) => {
                if let Ok(i) = i.parse() {
                    r.buckets.push((i, n));
                }
            }
            _ => {}
        }
    }
    raw.into_iter()
        .map(|(labels, r)| {
            let mut classic = r.classic;
            classic.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut e = ExpBuckets::default();
            e.sum = r.sum;
            e.zero = r.zero;
            e.overflow = r.overflow;
            let h = HistogramValue {
                count: r.count,
                sum: r.sum,
                buckets: classic,
                exponential: e.with_raw(1.0, &r.buckets),
            };
            (labels, h)
        })
        .collect()
}

/// `a - b`, for a total over processes less this process's share.
fn subtract(a: &Sent, b: Option<&Sent>) -> Value {
    match (a, b) {
        (Sent::Counter(a), Some(Sent::Counter(b))) => Value::Counter(a - b),
        (Sent::Counter(a), _) => Value::Counter(*a),
        (Sent::Gauge(a), _) => Value::Gauge(*a),
        (Sent::Histogram(a), Some(Sent::Histogram(b))) => {
            let mut h = a.clone();
            h.count = a.count.saturating_sub(b.count);
            h.sum = a.sum - b.sum;
            for (x, (_, n)) in h.buckets.iter_mut().zip(&b.buckets) {
                x.1 = x.1.saturating_sub(*n);
            }
            h.exponential = a.exponential.saturating_sub(&b.exponential);
            h.exponential.sum = h.sum;
            Value::Histogram(h)
        }
        (Sent::Histogram(a), _) => Value::Histogram(a.clone()),
    }
}

/// Every process's values in `remote` merged, with this process's own
/// (`own`: its fresh values and what Redis has applied of them) in place
/// of its applied share; processes that flushed within `window` seconds
/// are live.
fn merge_remote(
    remote: &Remote,
    own: Option<(&Part, &HashMap<SeriesKey, Sent>)>,
    window: f64,
) -> Vec<PartFamily> {
    let me = own.and_then(|(p, _)| p.owner);
    let empty = HashMap::new();
    let acked = own.map_or(&empty, |(_, a)| a);
    let now = crate::store::clock::unix_now();
    let me_id = me.unwrap_or(ProcessId { pid: 0, token: 0 });
    let alive =
        |p: ProcessId| p == me_id || remote.procs.get(&p).is_some_and(|t| now - t <= window);
    // Everything but this process's applied share, as an archive-like
    // part (counters, histograms) and one part per other process
    // (gauges).
    let mut others = Part::default();
    let mut by_process: BTreeMap<ProcessId, Part> = BTreeMap::new();
    for (name, f) in &remote.families {
        let family = |series| PartFamily {
            name: name.clone(),
            help: f.help.clone(),
            unit: f.unit.clone(),
            kind: f.kind,
            mode: f.mode,
            series,
        };
        let mut totals = Vec::new();
        for (labels, total) in &f.totals {
            let Some(label_pairs) = parse_labels(labels) else {
                continue;
            };
            let mine = acked.get(&(name.clone(), labels.clone()));
            totals.push(PartSeries {
                labels: label_pairs,
                value: subtract(total, mine),
                created: f.created.get(labels).copied(),
                changed: 0.0,
            });
        }
        if !totals.is_empty() || f.kind != MetricKind::Gauge {
            others.families.push(family(totals));
        }
        for ((labels, proc), (value, changed)) in &f.gauges {
            if Some(*proc) == me {
                continue;
            }
            let Some(label_pairs) = parse_labels(labels) else {
                continue;
            };
            let part = by_process.entry(*proc).or_insert_with(|| Part {
                owner: Some(*proc),
                families: Vec::new(),
            });
            match part.families.iter_mut().find(|x| x.name == *name) {
                Some(existing) => existing.series.push(PartSeries {
                    labels: label_pairs,
                    value: Value::Gauge(*value),
                    created: None,
                    changed: *changed,
                }),
                None => part.families.push(family(vec![PartSeries {
                    labels: label_pairs,
                    value: Value::Gauge(*value),
                    created: None,
                    changed: *changed,
                }])),
            }
        }
    }
    let live = remote.procs.keys().filter(|p| alive(**p)).count().max(1);
    status::processes(live, remote.procs.len().saturating_sub(live));
    let parts = own
        .map(|(p, _)| p)
        .into_iter()
        .chain(std::iter::once(&others))
        .chain(by_process.values());
    part::merge(parts, &alive)
}

impl Store for RedisStore {
    fn merged(&self, local: &Snapshot) -> Vec<PartFamily> {
        let remote = self.read_remote();
        let (own, acked) = {
            let mut view = self.view.lock().unwrap_or_else(PoisonError::into_inner);
            let own = Part::from_snapshot(self.me, local, &mut view.1);
            (own, view.0.clone())
        };
        let window = 3.0 * self.options.flush_interval.as_secs_f64();
        merge_remote(&remote, Some((&own, &acked)), window)
    }

    fn flush(&self) -> Result<(), Error> {
        self.flush_now().map_err(|e| {
            status::flushed(Err(&e));
            error(e)
        })
    }
}

/// Reads and merges every process's values from the Redis server of
/// `options`, from any process (one that flushes there or not).
///
/// # Errors
///
/// [`Error::Backend`] when the server cannot be reached or answers with
/// an error.
pub fn read(options: &RedisOptions) -> Result<Snapshot, Error> {
    let store = RedisStore::new(options)?;
    let mut con = store.connect().map_err(error)?;
    let remote = store
        .fetch(&mut con)
        .map_err(|e| error(format!("{}: {e}", options.url)))?;
    let families = merge_remote(&remote, None, 3.0 * options.flush_interval.as_secs_f64());
    let mut sink = crate::collect::registry::Sink::default();
    part::push_into(&families, &mut sink);
    Ok(sink.finish())
}
