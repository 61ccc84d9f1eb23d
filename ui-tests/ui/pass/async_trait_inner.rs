// `#[tracked]` below `#[async_trait]`, on the impl block and on single
// methods: the macro sees `fn .. -> Pin<Box<dyn Future ..>>` whose body is
// `Box::pin(async move { .. })` and instruments that future.

#![deny(warnings, unused_qualifications)]

use async_trait::async_trait;
use telltale::{timed, tracked};

#[async_trait]
trait Service {
    async fn call(&self, request: u32) -> Result<u32, std::fmt::Error>;
    async fn ready(&mut self) -> bool;
}

struct Doubler;

#[async_trait]
#[tracked]
impl Service for Doubler {
    async fn call(&self, request: u32) -> Result<u32, std::fmt::Error> {
        if request == 0 {
            return Err(std::fmt::Error);
        }
        Ok(request * 2)
    }

    async fn ready(&mut self) -> bool {
        true
    }
}

struct Tripler {
    calls: u32,
}

#[async_trait]
impl Service for Tripler {
    #[tracked(labels(request = request.to_string()))]
    async fn call(&self, request: u32) -> Result<u32, std::fmt::Error> {
        Ok(request * 3 + self.calls)
    }

    #[timed]
    async fn ready(&mut self) -> bool {
        self.calls += 1;
        true
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut doubler = Doubler;
        assert!(doubler.ready().await);
        assert_eq!(doubler.call(2).await.unwrap(), 4);
        assert!(doubler.call(0).await.is_err());
        let mut tripler = Tripler { calls: 0 };
        assert!(tripler.ready().await);
        assert_eq!(tripler.call(2).await.unwrap(), 7);
    });
    let snapshot = telltale::Snapshot::collect();
    let calls = snapshot.family("function_calls").expect("function_calls");
    assert!(calls.series.iter().any(
        |s| s.label("function") == Some("Doubler::call") && s.label("result") == Some("error")
    ));
    assert!(calls
        .series
        .iter()
        .any(|s| s.label("function") == Some("call") && s.label("request") == Some("2")));
}
