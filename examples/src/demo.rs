//! The demo service: instrumented functions of every common shape.
//!
//! Outcomes depend only on the inputs, so a driver that picks its inputs
//! deterministically knows exactly which series it moves.

use std::fmt;
use std::num::ParseIntError;
use std::time::Duration;

use telltale::{timed, tracked, LabelValue};

/// The `module` label of the series of this module's functions.
pub const MODULE: &str = module_path!();

/// The `function` label of each instrumented function.
pub mod names {
    /// [`super::fetch_page`].
    pub const FETCH_PAGE: &str = "fetch_page";
    /// [`super::render_page`].
    pub const RENDER_PAGE: &str = "render_page";
    /// [`super::checksum`].
    pub const CHECKSUM: &str = "checksum";
    /// [`super::parse_quantity`].
    pub const PARSE_QUANTITY: &str = "parse_quantity";
    /// [`super::flaky_step`].
    pub const FLAKY_STEP: &str = "flaky_step";
    /// [`super::resolve`].
    pub const RESOLVE: &str = "resolve";
    /// [`super::Inventory::reserve`].
    pub const RESERVE: &str = "Inventory::reserve";
    /// [`super::Inventory::restock`].
    pub const RESTOCK: &str = "Inventory::restock";
}

/// Why a demo call failed. Each variant is one value of the `error` label.
#[derive(Debug, LabelValue)]
pub enum DemoError {
    /// The backend did not answer in time (`timeout`).
    Timeout,
    /// No such page (`not_found`).
    NotFound,
    /// Too many requests (`rate_limited`).
    RateLimited {
        /// When to try again.
        retry_after_ms: u64,
    },
    /// Not enough items in stock (`out_of_stock`).
    OutOfStock,
    /// An I/O failure (`io`).
    Io(std::io::Error),
}

impl DemoError {
    /// The `error` label value of this error, as `#[derive(LabelValue)]`
    /// spells it (snake_case of the variant's name).
    pub fn kind(&self) -> &'static str {
        match self {
            DemoError::Timeout => "timeout",
            DemoError::NotFound => "not_found",
            DemoError::RateLimited { .. } => "rate_limited",
            DemoError::OutOfStock => "out_of_stock",
            DemoError::Io(_) => "io",
        }
    }
}

impl fmt::Display for DemoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DemoError::Timeout => f.write_str("the backend timed out"),
            DemoError::NotFound => f.write_str("no such page"),
            DemoError::RateLimited { retry_after_ms } => {
                write!(f, "rate limited; retry after {retry_after_ms} ms")
            }
            DemoError::OutOfStock => f.write_str("not enough items in stock"),
            DemoError::Io(e) => write!(f, "i/o error: {e}"),
        }
    }
}

impl std::error::Error for DemoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DemoError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// A page of the demo catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Its id.
    pub id: u64,
    /// Its title.
    pub title: String,
}

/// Fetches a page from a pretend backend: most ids succeed; ids ending in
/// 0 time out, in 1 are not found, in 2 are rate limited, and every
/// eleventh id hits an I/O error.
#[tracked]
pub async fn fetch_page(id: u64) -> Result<Page, DemoError> {
    // A short, input-dependent wait so the latency histogram has a shape.
    tokio::time::sleep(Duration::from_micros(100 + id % 7 * 150)).await;
    match id % 10 {
        0 => Err(DemoError::Timeout),
        1 => Err(DemoError::NotFound),
        2 => Err(DemoError::RateLimited {
            retry_after_ms: 100 * (id % 5 + 1),
        }),
        _ if id.is_multiple_of(11) => Err(DemoError::Io(std::io::Error::other("disk unplugged"))),
        _ => Ok(Page {
            id,
            title: format!("page {id}"),
        }),
    }
}

/// Renders a page to HTML (async, latency only).
#[timed]
pub async fn render_page(page: &Page) -> String {
    tokio::task::yield_now().await;
    format!(
        "<html><h1>{}</h1><p>page #{}</p></html>",
        page.title, page.id
    )
}

/// FNV-1a checksum of a payload (sync, latency only).
#[timed]
pub fn checksum(data: &[u8]) -> u32 {
    data.iter().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}

/// Parses a quantity typed by a user. Its error type does not derive
/// `LabelValue`, so the `error` label is the type's name, `ParseIntError`.
#[tracked]
pub fn parse_quantity(text: &str) -> Result<u32, ParseIntError> {
    text.trim().parse()
}

/// A processing step that panics for every multiple of 7 (the panic is
/// counted as `error="panic"` and propagates to the caller).
#[tracked]
pub fn flaky_step(n: u64) -> u64 {
    assert!(
        !n.is_multiple_of(7),
        "{}: step {n} is a multiple of 7",
        crate::PANIC_MARKER
    );
    n / 7
}

/// Resolves a host id. Ids that are multiples of 5 never answer, so a caller
/// with a deadline drops the future: `result="cancelled"`.
#[tracked]
pub async fn resolve(host_id: u64) -> Result<u64, DemoError> {
    if host_id.is_multiple_of(5) {
        std::future::pending::<()>().await;
    }
    tokio::task::yield_now().await;
    Ok(host_id.rotate_left(7))
}

/// A stock of items; its methods are instrumented as one `impl` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    stock: u32,
}

impl Inventory {
    /// An inventory holding `stock` items.
    pub fn new(stock: u32) -> Self {
        Inventory { stock }
    }

    /// Items in stock.
    pub fn stock(&self) -> u32 {
        self.stock
    }
}

#[tracked]
impl Inventory {
    /// Takes `quantity` items out of stock, returning what is left.
    pub fn reserve(&mut self, quantity: u32) -> Result<u32, DemoError> {
        if quantity > self.stock {
            return Err(DemoError::OutOfStock);
        }
        self.stock -= quantity;
        Ok(self.stock)
    }

    /// Puts `quantity` items back in stock.
    pub fn restock(&mut self, quantity: u32) {
        self.stock = self.stock.saturating_add(quantity);
    }
}
