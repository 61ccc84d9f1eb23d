//! A metric that registers itself on first use is in every collection taken
//! after any thread recorded into it: threads racing to use a family, a
//! counter or a gauge for the first time each find it in the snapshot they
//! take right after their own record.

use std::sync::Barrier;

use telltale::{Counter, Family, Gauge, LabelSet, Snapshot};

#[derive(LabelSet)]
struct Key {
    key: String,
}

macro_rules! metrics {
    ($($family:ident $counter:ident $gauge:ident $n:literal),* $(,)?) => {
        const FAMILIES: &[&Family<Key, Counter>] = &[$(&$family),*];
        const COUNTERS: &[&Counter] = &[$(&$counter),*];
        const GAUGES: &[&Gauge] = &[$(&$gauge),*];
        $(
            static $family: Family<Key, Counter> =
                Family::new(concat!("first_use_family_", $n, "_total"), "t");
            static $counter: Counter = Counter::new(concat!("first_use_counter_", $n, "_total"), "t");
            static $gauge: Gauge = Gauge::new(concat!("first_use_gauge_", $n), "t");
        )*
    };
}

metrics!(
    F0 C0 G0 "0", F1 C1 G1 "1", F2 C2 G2 "2", F3 C3 G3 "3", F4 C4 G4 "4",
    F5 C5 G5 "5", F6 C6 G6 "6", F7 C7 G7 "7", F8 C8 G8 "8", F9 C9 G9 "9",
    F10 C10 G10 "10", F11 C11 G11 "11", F12 C12 G12 "12", F13 C13 G13 "13",
    F14 C14 G14 "14", F15 C15 G15 "15", F16 C16 G16 "16", F17 C17 G17 "17",
    F18 C18 G18 "18", F19 C19 G19 "19", F20 C20 G20 "20", F21 C21 G21 "21",
    F22 C22 G22 "22", F23 C23 G23 "23",
);

#[test]
fn a_metric_first_used_by_racing_threads_is_in_each_ones_next_snapshot() {
    const THREADS: usize = 4;
    for i in 0..FAMILIES.len() {
        let barrier = Barrier::new(THREADS);
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    let name = match t % 3 {
                        0 => {
                            FAMILIES[i].labels(Key { key: t.to_string() }).inc();
                            format!("first_use_family_{i}")
                        }
                        1 => {
                            COUNTERS[i].inc();
                            format!("first_use_counter_{i}")
                        }
                        _ => {
                            GAUGES[i].set(1.0);
                            format!("first_use_gauge_{i}")
                        }
                    };
                    let snapshot = Snapshot::collect();
                    assert!(
                        snapshot.family(&name).is_some_and(|f| !f.series.is_empty()),
                        "{name} recorded by thread {t} but not collected"
                    );
                });
            }
        });
    }
}
