//! What generated code may name. Not a public API: it changes with the macros.

pub use ::core;
pub use ::inventory;
pub use ::std::vec::Vec;

pub use crate::collect::registry::Registration;
pub use crate::metric::callsite::{Callsite, CallsiteMeta, ErrorKind, Guard, Outcome};
pub use crate::metric::labels::derive_support::{product, radix, value_cardinality};
pub use crate::metric::labels::{BoundedLabelValue, LabelSet, LabelStr, LabelValue};
/// Histogram storage, for telltale's own tests and benches.
pub use crate::store::histogram;

/// Wraps a call's result for outcome classification by autoref specialization.
#[derive(Debug)]
pub struct Classify<'a, T: ?Sized>(pub &'a T);

// Not derived: a derive would require `T: Copy`.
impl<T: ?Sized> Clone for Classify<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for Classify<'_, T> {}

/// Most specific: `Result<T, E>` where `E` is a bounded label value (a
/// derived enum): the error kind is its variant.
pub trait ClassifyLabeled {
    /// The call's outcome.
    fn __telltale_outcome(self) -> Outcome;
}

/// `Result<T, E>` for any other `E`: the error kind is `E`'s type name.
pub trait ClassifyResult {
    /// The call's outcome.
    fn __telltale_outcome(self) -> Outcome;
}

/// Anything else: the call succeeded.
pub trait ClassifyOther {
    /// The call's outcome.
    fn __telltale_outcome(self) -> Outcome;
}

impl<T, E: BoundedLabelValue> ClassifyLabeled for &&Classify<'_, Result<T, E>> {
    #[inline]
    fn __telltale_outcome(self) -> Outcome {
        match self.0 {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Error(ErrorKind::Indexed(E::VALUES, e.index())),
        }
    }
}

impl<T, E> ClassifyResult for &Classify<'_, Result<T, E>> {
    #[inline]
    fn __telltale_outcome(self) -> Outcome {
        match self.0 {
            Ok(_) => Outcome::Ok,
            Err(_) => Outcome::Error(ErrorKind::Named(::core::any::type_name::<E>())),
        }
    }
}

impl<T: ?Sized> ClassifyOther for Classify<'_, T> {
    #[inline]
    fn __telltale_outcome(self) -> Outcome {
        Outcome::Ok
    }
}

/// The error type of a function's `Result`, for the error kinds it can
/// report to be exported at zero from the start (autoref specialization, as
/// [`Classify`]).
#[derive(Debug)]
pub struct ErrorsOf<E: ?Sized>(pub ::core::marker::PhantomData<E>);

/// A bounded label value: every variant is a kind.
pub trait ErrorsLabeled {
    /// The kinds, as an [`ErrorKind`] naming them all.
    fn __telltale_errors(self) -> ErrorKind;
}

/// Any other error type: its type name is the one kind.
pub trait ErrorsNamed {
    /// The kind, as an [`ErrorKind`].
    fn __telltale_errors(self) -> ErrorKind;
}

impl<E: BoundedLabelValue> ErrorsLabeled for &&ErrorsOf<E> {
    fn __telltale_errors(self) -> ErrorKind {
        ErrorKind::Indexed(E::VALUES, 0)
    }
}

impl<E> ErrorsNamed for &ErrorsOf<E> {
    fn __telltale_errors(self) -> ErrorKind {
        ErrorKind::Named(::core::any::type_name::<E>())
    }
}
