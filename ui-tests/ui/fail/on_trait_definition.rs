#[telltale::tracked]
trait Handler {
    fn handle(&self) -> Result<(), String>;
}

fn main() {}
