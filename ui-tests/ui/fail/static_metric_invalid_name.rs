use telltale::Counter;

static HITS: Counter = Counter::new("hits-total", "Hits.");

fn main() {
    HITS.inc();
}
