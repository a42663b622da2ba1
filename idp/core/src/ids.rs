//! Kazakhstan identification numbers.
//!
//! [`Bin`] is the 12-digit business identification number (БИН / BSN) of a
//! legal entity. It shares its check-digit algorithm with the individual
//! identification number (ИИН), see [`kz_check_digit_valid`].
//!
//! Only the length, the digits and the check digit are validated; the inner
//! structure of a BIN (registration year/month, entity type digit, ...) is
//! deliberately *not* checked here.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Weights of the first check-digit pass (d1..d11).
const WEIGHTS_1: [u32; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
/// Weights of the second check-digit pass, used when the first pass gives 10.
const WEIGHTS_2: [u32; 11] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];

/// Computes the check digit for the first 11 digits of an IIN/BIN.
///
/// Returns `None` when both passes give 10, i.e. no valid number can start
/// with these 11 digits. Every element of `digits` must be `0..=9`.
pub fn kz_check_digit(digits: &[u8; 11]) -> Option<u8> {
    let pass = |weights: &[u32; 11]| -> u32 { digits.iter().zip(weights).map(|(&d, &w)| u32::from(d) * w).sum::<u32>() % 11 };
    let mut c = pass(&WEIGHTS_1);
    if c == 10 {
        c = pass(&WEIGHTS_2);
    }
    if c == 10 {
        None
    } else {
        Some(c as u8)
    }
}

/// Validates the check digit (d12) of a 12-digit IIN or BIN.
///
/// Algorithm: `c = (Σ d_i · i, i = 1..=11) mod 11`; if `c == 10` a second pass
/// with weights `3,4,5,6,7,8,9,10,11,1,2` is made; if `c` is still 10 the
/// number is invalid. Otherwise the number is valid iff `c == d12`.
///
/// Every element must be a digit value `0..=9` (not an ASCII character);
/// anything else yields `false`.
pub fn kz_check_digit_valid(digits: &[u8; 12]) -> bool {
    if digits.iter().any(|&d| d > 9) {
        return false;
    }
    let mut first = [0u8; 11];
    first.copy_from_slice(&digits[..11]);
    kz_check_digit(&first) == Some(digits[11])
}

/// Why a string is not a valid [`Bin`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BinError {
    /// The input does not have exactly 12 characters.
    #[error("a BIN must have exactly 12 digits, got {0} characters")]
    WrongLength(usize),
    /// The input contains a character that is not an ASCII digit.
    #[error("a BIN must consist of ASCII digits only")]
    NotDigits,
    /// The check digit (the 12th digit) does not match.
    #[error("BIN check digit is wrong")]
    BadCheckDigit,
}

/// A Kazakhstan business identification number (БИН), validated on
/// construction (12 ASCII digits with a correct check digit).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bin(String);

impl Bin {
    /// The 12 digits as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 12 digits as digit values `0..=9`.
    pub fn digits(&self) -> [u8; 12] {
        let mut out = [0u8; 12];
        for (o, b) in out.iter_mut().zip(self.0.bytes()) {
            *o = b - b'0';
        }
        out
    }
}

impl FromStr for Bin {
    type Err = BinError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n = s.chars().count();
        if n != 12 {
            return Err(BinError::WrongLength(n));
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BinError::NotDigits);
        }
        let mut digits = [0u8; 12];
        for (d, b) in digits.iter_mut().zip(s.bytes()) {
            *d = b - b'0';
        }
        if !kz_check_digit_valid(&digits) {
            return Err(BinError::BadCheckDigit);
        }
        Ok(Bin(s.to_owned()))
    }
}

impl fmt::Display for Bin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Bin {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for Bin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a valid 12-digit string from 11 digits by appending the check
    /// digit computed with the algorithm (panics if none exists).
    fn with_check_digit(first11: &str) -> String {
        let mut d = [0u8; 11];
        for (o, b) in d.iter_mut().zip(first11.bytes()) {
            *o = b - b'0';
        }
        let c = kz_check_digit(&d).expect("these 11 digits admit a check digit");
        format!("{first11}{c}")
    }

    #[test]
    fn hand_verified_examples() {
        // "100000000001": first pass 1*1 = 1, 1 mod 11 = 1 = d12. Valid.
        assert!("100000000001".parse::<Bin>().is_ok());
        // "123456789013": first pass
        //   1*1+2*2+3*3+4*4+5*5+6*6+7*7+8*8+9*9+0*10+1*11
        //   = 1+4+9+16+25+36+49+64+81+0+11 = 296; 296 mod 11 = 10 -> second pass
        //   1*3+2*4+3*5+4*6+5*7+6*8+7*9+8*10+9*11+0*1+1*2
        //   = 3+8+15+24+35+48+63+80+99+0+2 = 377; 377 mod 11 = 3 = d12. Valid.
        let b: Bin = "123456789013".parse().unwrap();
        assert_eq!(b.as_str(), "123456789013");
        assert_eq!(b.to_string(), "123456789013");
        assert_eq!(b.digits(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 3]);
        // Same prefix, any other check digit is wrong.
        for c in (0..=9).filter(|&c| c != 3) {
            assert_eq!(format!("12345678901{c}").parse::<Bin>(), Err(BinError::BadCheckDigit));
        }
    }

    #[test]
    fn computed_examples_roundtrip() {
        for first11 in ["99034000000", "05014000001", "19124000123", "20084000777", "00000000000"] {
            let s = with_check_digit(first11);
            let b: Bin = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(b.as_str(), s);
            // Flipping the check digit breaks it.
            let last = s.as_bytes()[11] - b'0';
            let wrong = format!("{first11}{}", (last + 1) % 10);
            assert_eq!(wrong.parse::<Bin>(), Err(BinError::BadCheckDigit));
        }
    }

    #[test]
    fn double_ten_is_rejected() {
        // "60500000000": first pass 6*1 + 5*3 = 21, 21 mod 11 = 10;
        // second pass 6*3 + 5*5 = 43, 43 mod 11 = 10 -> no valid check digit.
        assert_eq!(kz_check_digit(&[6, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        for c in 0..=9 {
            assert_eq!(format!("60500000000{c}").parse::<Bin>(), Err(BinError::BadCheckDigit));
        }
        // Another one found by search (verified with the same algorithm).
        assert_eq!(kz_check_digit(&[0, 6, 8, 7, 0, 9, 8, 6, 1, 1, 9]), None);
    }

    #[test]
    fn wrong_length_and_non_digits() {
        assert_eq!("".parse::<Bin>(), Err(BinError::WrongLength(0)));
        assert_eq!("12345678901".parse::<Bin>(), Err(BinError::WrongLength(11)));
        assert_eq!("1234567890134".parse::<Bin>(), Err(BinError::WrongLength(13)));
        assert_eq!("12345678901a".parse::<Bin>(), Err(BinError::NotDigits));
        assert_eq!(" 23456789013".parse::<Bin>(), Err(BinError::NotDigits));
        assert_eq!("-23456789013".parse::<Bin>(), Err(BinError::NotDigits));
        // Non-ASCII digits are rejected (length counted in characters).
        assert_eq!("١٢٣٤٥٦٧٨٩٠١٣".parse::<Bin>(), Err(BinError::NotDigits));
    }

    #[test]
    fn check_digit_valid_rejects_non_digit_values() {
        assert!(kz_check_digit_valid(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]));
        assert!(!kz_check_digit_valid(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11]));
        assert!(!kz_check_digit_valid(&[b'1', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]));
    }

    #[test]
    fn serde_as_string() {
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        struct W {
            bin: Bin,
        }
        let w: W = toml::from_str(r#"bin = "123456789013""#).unwrap();
        assert_eq!(w.bin.as_str(), "123456789013");
        assert_eq!(toml::to_string(&w).unwrap().trim(), r#"bin = "123456789013""#);
        let err = toml::from_str::<W>(r#"bin = "123456789012""#).unwrap_err();
        assert!(err.to_string().contains("check digit"), "{err}");
        assert!(toml::from_str::<W>("bin = 123456789013").is_err());
    }
}
