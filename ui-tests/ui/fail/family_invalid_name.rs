use telltale::{Family, Gauge, LabelSet};

#[derive(LabelSet)]
struct Disk {
    mount: String,
}

static USED: Family<Disk, Gauge> = Family::new("disk_usé_bytes", "Used bytes.");

fn main() {
    USED.labels(Disk { mount: "/".into() }).set(1.0);
}
