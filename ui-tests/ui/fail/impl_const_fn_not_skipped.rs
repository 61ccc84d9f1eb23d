struct Limits;

#[telltale::tracked]
impl Limits {
    const fn max() -> u32 {
        8
    }

    fn check(&self, n: u32) -> Result<u32, String> {
        if n > Self::max() {
            return Err("too big".to_owned());
        }
        Ok(n)
    }
}

fn main() {
    let _ = Limits.check(1);
}
