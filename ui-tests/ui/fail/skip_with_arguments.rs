struct Cache;

#[telltale::tracked]
impl Cache {
    fn get(&self) -> Result<u8, String> {
        Ok(1)
    }
}

#[telltale::skip(always)]
fn helper() {}

fn main() {
    let _ = Cache.get();
    helper();
}
