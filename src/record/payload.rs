//! What a record's key, value and header values can be made of.
//!
//! Owned buffers (`Bytes`, `Vec<u8>`, `String`, `Box<[u8]>`) move into the
//! record without a copy; borrowed ones (`&str`, `&[u8]`, `&String`,
//! `&Vec<u8>`, arrays) are copied, so a record never borrows from its caller
//! and can outlive the call that built it.

use std::borrow::Cow;

use bytes::Bytes;

/// A value a [`ProducerRecord`](crate::ProducerRecord) key, value or
/// [`Header`](crate::Header) value can be built from.
///
/// Implemented for owned buffers, which are moved (`Bytes`, `Vec<u8>`,
/// `String`, `Box<[u8]>`, `Box<str>`, a `Cow` that owns), and for borrowed
/// bytes and text of any lifetime, which are copied (`&str`, `&[u8]`,
/// `&[u8; N]`, `[u8; N]`, `&String`, `&Vec<u8>`, `&Bytes`, a borrowing
/// `Cow`). Sealed: the set of conversions is tidelog's to choose.
///
/// # Examples
/// ```
/// use tidelog::{Bytes, ProducerRecord};
/// let local = String::from("order-42");
/// let key = vec![1u8, 2, 3];
/// // Borrowed from locals: copied into the record.
/// let copied = ProducerRecord::new("orders", &local).key(&key[..]);
/// // Owned: moved, no copy.
/// let moved = ProducerRecord::new("orders", local).key(Bytes::from(key));
/// # let _ = (copied, moved);
/// ```
pub trait IntoPayload: sealed::Sealed {
    /// The bytes, moved when owned and copied when borrowed.
    fn into_payload(self) -> Bytes;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! owned {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl IntoPayload for $t {
            fn into_payload(self) -> Bytes {
                Bytes::from(self)
            }
        }
    )*};
}

owned!(Bytes, Vec<u8>, String, Box<[u8]>);

impl sealed::Sealed for Box<str> {}
impl IntoPayload for Box<str> {
    fn into_payload(self) -> Bytes {
        Bytes::from(String::from(self))
    }
}

macro_rules! borrowed {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl IntoPayload for $t {
            fn into_payload(self) -> Bytes {
                let bytes: &[u8] = self.as_ref();
                Bytes::copy_from_slice(bytes)
            }
        }
    )*};
}

borrowed!(&str, &[u8], &String, &Vec<u8>);

impl sealed::Sealed for &Bytes {}
impl IntoPayload for &Bytes {
    /// Shares the buffer (a reference count), without copying.
    fn into_payload(self) -> Bytes {
        self.clone()
    }
}

impl<const N: usize> sealed::Sealed for &[u8; N] {}
impl<const N: usize> IntoPayload for &[u8; N] {
    fn into_payload(self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
}

impl<const N: usize> sealed::Sealed for [u8; N] {}
impl<const N: usize> IntoPayload for [u8; N] {
    fn into_payload(self) -> Bytes {
        Bytes::copy_from_slice(&self)
    }
}

impl sealed::Sealed for Cow<'_, str> {}
impl IntoPayload for Cow<'_, str> {
    fn into_payload(self) -> Bytes {
        match self {
            Cow::Borrowed(s) => s.into_payload(),
            Cow::Owned(s) => s.into_payload(),
        }
    }
}

impl sealed::Sealed for Cow<'_, [u8]> {}
impl IntoPayload for Cow<'_, [u8]> {
    fn into_payload(self) -> Bytes {
        match self {
            Cow::Borrowed(s) => s.into_payload(),
            Cow::Owned(v) => v.into_payload(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_buffers_move_and_borrowed_ones_copy() {
        let vec = vec![1u8, 2, 3];
        let at = vec.as_ptr();
        assert_eq!(vec.into_payload().as_ptr(), at, "a Vec moves");
        let text = String::from("abc");
        let at = text.as_ptr();
        assert_eq!(text.into_payload().as_ptr(), at, "a String moves");

        let local = String::from("abc");
        let copied = (&local).into_payload();
        assert_ne!(copied.as_ptr(), local.as_ptr(), "a borrow is copied");
        assert_eq!(copied, "abc");
        assert_eq!((&b"xy"[..]).into_payload(), &b"xy"[..]);
        assert_eq!([7u8; 2].into_payload(), &[7u8, 7][..]);
        assert_eq!(Cow::Borrowed("c").into_payload(), "c");

        let shared = Bytes::from(vec![9u8; 4]);
        assert_eq!((&shared).into_payload().as_ptr(), shared.as_ptr());
    }
}
