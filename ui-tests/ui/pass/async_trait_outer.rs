// `#[tracked]` above `#[async_trait]`: the macro sees the `async fn`s before
// async_trait boxes them.

#![deny(warnings, unused_qualifications)]

use async_trait::async_trait;
use telltale::{timed, tracked};

#[async_trait]
trait Repo {
    async fn load(&self, id: u32) -> Result<String, std::io::Error>;
    async fn count(&self) -> usize;
}

struct Memory;

#[tracked]
#[async_trait]
impl Repo for Memory {
    async fn load(&self, id: u32) -> Result<String, std::io::Error> {
        if id == 0 {
            return Err(std::io::Error::other("missing"));
        }
        Ok(id.to_string())
    }

    async fn count(&self) -> usize {
        1
    }
}

struct Disk;

#[timed]
#[async_trait]
impl Repo for Disk {
    async fn load(&self, id: u32) -> Result<String, std::io::Error> {
        Ok(id.to_string())
    }

    async fn count(&self) -> usize {
        2
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let repos: [&(dyn Repo + Sync); 2] = [&Memory, &Disk];
        for repo in repos {
            assert_eq!(repo.load(3).await.unwrap(), "3");
            assert!(repo.count().await > 0);
        }
        assert!(Memory.load(0).await.is_err());
    });
    let snapshot = telltale::Snapshot::collect();
    let calls = snapshot.family("function_calls").expect("function_calls");
    assert!(
        calls
            .series
            .iter()
            .any(|s| s.label("function") == Some("Memory::load")
                && s.label("result") == Some("error"))
    );
}
