use telltale::tracked;

#[tracked]
fn find(key: u32) -> Option<u32> {
    key.checked_sub(1)
}

struct Store;

#[tracked]
impl Store {
    fn get(&self) -> Result<u8, String> {
        Ok(1)
    }

    async fn first(&self) -> std::option::Option<u8> {
        None
    }
}

fn main() {
    let _ = find(1);
    let _ = Store.get();
    let _ = Store.first();
}
