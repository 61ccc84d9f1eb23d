// async fn stays async; `?` converts errors inside the instrumented future;
// async methods return borrows of `self`.

#![deny(warnings, unused_qualifications)]

use telltale::{timed, tracked};

#[derive(Debug)]
struct AppError;

impl From<std::num::ParseIntError> for AppError {
    fn from(_: std::num::ParseIntError) -> Self {
        AppError
    }
}

#[tracked]
async fn fetch(input: &str) -> Result<u32, AppError> {
    tokio::task::yield_now().await;
    let n: u32 = input.parse()?;
    Ok(n)
}

#[timed]
async fn sleep_a_little() {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
}

struct Session {
    user: String,
}

impl Session {
    #[tracked]
    async fn user(&self) -> &str {
        &self.user
    }

    #[tracked]
    async fn user_mut(&mut self) -> &mut String {
        &mut self.user
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        assert_eq!(fetch("4").await.unwrap(), 4);
        assert!(fetch("four").await.is_err());
        sleep_a_little().await;
        let mut session = Session {
            user: "ann".to_owned(),
        };
        session.user_mut().await.push('e');
        assert_eq!(session.user().await, "anne");
    });
}
