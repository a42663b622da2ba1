//! The individual identification number (ИИН/ЖСН): 12 digits whose last one is a
//! check digit computed in two weight passes.

use std::fmt;
use std::str::FromStr;

/// A syntactically valid IIN. Built only through [`FromStr`], so holding one
/// means the check digit was verified.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iin(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IinError {
    #[error("an IIN has exactly 12 digits")]
    WrongLength,
    #[error("an IIN has only digits")]
    NotDigits,
    #[error("the IIN's check digit does not match")]
    BadCheckDigit,
}

impl Iin {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The check digit of the first 11 digits, or `None` when both passes give 10
/// (such a number is never issued): the one implementation, shared with the BIN.
pub use crate::ids::kz_check_digit as check_digit;

impl FromStr for Iin {
    type Err = IinError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IinError::NotDigits);
        }
        if s.len() != 12 {
            return Err(IinError::WrongLength);
        }
        let mut d = [0u8; 12];
        for (d, b) in d.iter_mut().zip(s.bytes()) {
            *d = b - b'0';
        }
        if crate::ids::kz_check_digit_valid(&d) {
            Ok(Iin(s.to_owned()))
        } else {
            Err(IinError::BadCheckDigit)
        }
    }
}

impl fmt::Display for Iin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Logs and errors show only the birth-date part and the check digit.
impl fmt::Debug for Iin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iin({}*****{})", &self.0[..6], &self.0[11..])
    }
}

impl serde::Serialize for Iin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Iin {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_numbers() {
        for (s, want) in [
            ("000000000000", Ok(())),
            // 8,6,0,1,0,1,3,5,0,0,1 · 1..11 = 102 ≡ 3, not 4.
            ("860101350014", Err(IinError::BadCheckDigit)),
            ("860101350013", Ok(())),
            ("12345678901", Err(IinError::WrongLength)),
            ("1234567890123", Err(IinError::WrongLength)),
            ("12345678901a", Err(IinError::NotDigits)),
            ("", Err(IinError::WrongLength)),
        ] {
            assert_eq!(s.parse::<Iin>().map(|_| ()), want, "{s}");
        }
    }

    #[test]
    fn pass_one_by_hand() {
        // 9,0,0,1,0,1,3,0,0,0,1 · 1..11 = 9+0+0+4+0+6+21+0+0+0+11 = 51; 51 % 11 = 7.
        assert_eq!(check_digit(&[9, 0, 0, 1, 0, 1, 3, 0, 0, 0, 1]), Some(7));
        assert!("900101300017".parse::<Iin>().is_ok());
        assert_eq!("900101300018".parse::<Iin>(), Err(IinError::BadCheckDigit));
    }

    #[test]
    fn second_pass_when_first_gives_ten() {
        // 1,0,0,0,0,0,0,0,0,0,1: pass 1 = 1 + 11 = 12 % 11 = 1 (no).
        // 0,0,0,0,0,0,0,0,0,1,0: pass 1 = 10 → pass 2 = 1·1 = 1.
        assert_eq!(check_digit(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]), Some(1));
        assert!("000000000101".parse::<Iin>().is_ok());
        // 0,...,0,1,0,0 with weight 9 then 11: pass 1 = 9, fine; find a double ten:
        // digits d with Σ d·w1 ≡ 10 and Σ d·w2 ≡ 10: d10 = 1 (w1 10, w2 1) plus d1 = 9
        // (w1 1 → 9+10 = 19 ≡ 8) — search instead.
        let double_ten = (0u64..10_000_000)
            .map(|n| {
                let mut d = [0u8; 11];
                let mut m = n;
                for i in (0..11).rev() {
                    d[i] = (m % 10) as u8;
                    m /= 10;
                }
                d
            })
            .find(|d| check_digit(d).is_none())
            .expect("some prefix has no check digit");
        let s: String = double_ten.iter().map(|d| char::from(b'0' + d)).chain(['0']).collect();
        for last in 0..10u8 {
            let mut t = s.clone();
            t.replace_range(11..12, &last.to_string());
            assert_eq!(t.parse::<Iin>(), Err(IinError::BadCheckDigit), "{t}");
        }
    }

    #[test]
    fn debug_masks_the_number() {
        let iin: Iin = "900101300017".parse().unwrap();
        assert_eq!(format!("{iin:?}"), "Iin(900101*****7)");
    }
}
