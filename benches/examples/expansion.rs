//! One instrumented function per macro library, each beside the same code
//! without instrumentation. `benches/report` expands this file
//! (`-Zunpretty=expanded`), formats it with rustfmt and counts each module's
//! lines: `<lib>_annotated` minus `<lib>_plain` is what the library's macros
//! add to one function. Each function does the same: it records its calls by
//! outcome and its duration.

/// The error the functions return.
#[derive(Debug, telltale::LabelValue)]
pub enum WorkError {
    /// The input was zero.
    Zero,
}

/// The function without instrumentation (baseline of telltale and autometrics).
pub mod fn_plain {
    pub fn work(x: u32) -> Result<u32, super::WorkError> {
        if x > 0 {
            Ok(x)
        } else {
            Err(super::WorkError::Zero)
        }
    }
}

/// telltale: `#[tracked]` records calls by outcome and error kind, and duration.
pub mod telltale_annotated {
    #[telltale::tracked]
    pub fn work(x: u32) -> Result<u32, super::WorkError> {
        if x > 0 {
            Ok(x)
        } else {
            Err(super::WorkError::Zero)
        }
    }
}

/// autometrics 3 (docs.rs/autometrics): `#[autometrics]` records calls by
/// result, and duration.
pub mod autometrics_annotated {
    #[autometrics::autometrics]
    pub fn work(x: u32) -> Result<u32, super::WorkError> {
        if x > 0 {
            Ok(x)
        } else {
            Err(super::WorkError::Zero)
        }
    }
}

/// The method without instrumentation (baseline of metered, which measures
/// methods only).
pub mod method_plain {
    #[derive(Default, Debug)]
    pub struct Service;

    impl Service {
        pub fn work(&self, x: u32) -> Result<u32, super::WorkError> {
            if x > 0 {
                Ok(x)
            } else {
                Err(super::WorkError::Zero)
            }
        }
    }
}

/// metered 0.9 (docs.rs/metered, procedural macros): a registry per `impl`
/// block; calls, errors and response time of the method.
pub mod metered_annotated {
    #[derive(Default, Debug)]
    pub struct Service {
        metrics: ServiceMetrics,
    }

    #[metered::metered(registry = ServiceMetrics)]
    impl Service {
        #[measure([metered::HitCount, metered::ErrorCount, metered::ResponseTime])]
        pub fn work(&self, x: u32) -> Result<u32, super::WorkError> {
            if x > 0 {
                Ok(x)
            } else {
                Err(super::WorkError::Zero)
            }
        }
    }
}

fn main() {
    let results = [
        fn_plain::work(1),
        telltale_annotated::work(1),
        autometrics_annotated::work(0),
        method_plain::Service.work(1),
        metered_annotated::Service::default().work(1),
    ];
    println!("{results:?}");
}
