#![deny(unused_must_use)]

fn main() {
    // The Monitor stops sampling when dropped: this would sample only once.
    telltale::resources::monitor(std::time::Duration::from_secs(5));
}
