//! Kubernetes resource quantities (`100m`, `1.5Gi`, `1e3`), parsed exactly.
//!
//! A quantity is `sign? digits (. digits)? suffix?` where the suffix is a binary
//! SI suffix (`Ki` … `Ei`), a decimal SI suffix (`n u m "" k M G T P E`) or a
//! decimal exponent (`e3`, `E-2`). The value is kept as an exact integer mantissa
//! scaled by powers of ten and two, so conversions round exactly once, upwards,
//! as `resource.Quantity.Value()` and `MilliValue()` do upstream. [`parse_quantity`]
//! gives an approximate `f64` for comparisons (requests ≤ limits, QoS classes).

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// Why a quantity string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The string is not a quantity.
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {0:?}"
    )]
    Invalid(String),
    /// The mantissa has more digits than can be represented exactly.
    #[error("quantity {0:?} has too many significant digits")]
    TooPrecise(String),
}

/// A parsed quantity: `mantissa × 10^exp10 × 2^exp2`, negated when `negative`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedQuantity {
    negative: bool,
    mantissa: u128,
    exp10: i32,
    exp2: u32,
}

impl ParsedQuantity {
    /// Parses a quantity string.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let invalid = || QuantityError::Invalid(text.to_owned());
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(number_end);
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
            return Err(invalid());
        }
        let mut mantissa: u128 = 0;
        for digit in int_part.bytes().chain(frac_part.bytes()) {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(u128::from(digit - b'0')))
                .ok_or_else(|| QuantityError::TooPrecise(text.to_owned()))?;
        }
        let frac_digits = i32::try_from(frac_part.len()).map_err(|_| invalid())?;
        let (suffix_exp10, exp2) = parse_suffix(suffix).ok_or_else(invalid)?;
        Ok(Self {
            negative,
            mantissa,
            exp10: suffix_exp10 - frac_digits,
            exp2,
        })
    }

    /// The value rounded up to a whole number of units, saturating at `i64` bounds.
    pub fn value(&self) -> i64 {
        self.scaled_ceil(0)
    }

    /// The value in thousandths of a unit, rounded up, saturating at `i64` bounds.
    pub fn milli_value(&self) -> i64 {
        self.scaled_ceil(3)
    }

    /// `ceil(value × 10^scale)`.
    fn scaled_ceil(&self, scale: i32) -> i64 {
        let exp10 = self.exp10 + scale;
        let Some(with_pow2) = self.mantissa.checked_mul(1u128 << self.exp2.min(127)) else {
            return self.saturated();
        };
        let magnitude = if exp10 >= 0 {
            match 10u128
                .checked_pow(exp10.unsigned_abs())
                .and_then(|p| with_pow2.checked_mul(p))
            {
                Some(m) => m,
                None if with_pow2 == 0 => 0,
                None => return self.saturated(),
            }
        } else {
            let divisor = 10u128.checked_pow(exp10.unsigned_abs());
            let (quotient, exact) = match divisor {
                Some(d) => (with_pow2 / d, with_pow2 % d == 0),
                None => (0, with_pow2 == 0),
            };
            // Round towards +infinity: up for positive values, truncate for negative.
            if !exact && !self.negative {
                quotient + 1
            } else {
                quotient
            }
        };
        let magnitude = i64::try_from(magnitude).unwrap_or(i64::MAX);
        if self.negative { -magnitude } else { magnitude }
    }

    fn saturated(&self) -> i64 {
        if self.negative { i64::MIN } else { i64::MAX }
    }
}

/// Returns `(exp10, exp2)` for a suffix, or `None` when it is not one.
fn parse_suffix(suffix: &str) -> Option<(i32, u32)> {
    let binary = |shift| Some((0, shift));
    let decimal = |exp| Some((exp, 0));
    match suffix {
        "" => decimal(0),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        _ => {
            let exponent = suffix.strip_prefix(['e', 'E'])?;
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            decimal(exponent.parse().ok()?)
        }
    }
}

/// `quantity.Value()`: whole units, rounded up.
pub fn value(quantity: &Quantity) -> Result<i64, QuantityError> {
    ParsedQuantity::parse(&quantity.0).map(|q| q.value())
}

/// `quantity.MilliValue()`: thousandths of a unit, rounded up.
pub fn milli_value(quantity: &Quantity) -> Result<i64, QuantityError> {
    ParsedQuantity::parse(&quantity.0).map(|q| q.milli_value())
}

/// Upstream's words for a malformed quantity.
pub const QUANTITY_FORMAT_ERROR: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// The approximate numeric value of a quantity string, or `None` if it is malformed.
pub fn parse_quantity(s: &str) -> Option<f64> {
    ParsedQuantity::parse(s.trim()).ok().map(|q| q.as_f64())
}

impl ParsedQuantity {
    /// The value as a floating-point number (for comparisons, not accounting).
    pub fn as_f64(&self) -> f64 {
        let v = self.mantissa as f64 * 10f64.powi(self.exp10) * 2f64.powi(self.exp2 as i32);
        if self.negative { -v } else { v }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_with_every_suffix() {
        let cases: &[(&str, Option<f64>)] = &[
            ("1", Some(1.0)),
            ("100m", Some(0.1)),
            ("1.5", Some(1.5)),
            ("128Mi", Some(134_217_728.0)),
            ("1Gi", Some(1_073_741_824.0)),
            ("2k", Some(2000.0)),
            ("1e3", Some(1000.0)),
            ("-1", Some(-1.0)),
            ("", None),
            ("abc", None),
            ("1Xi", None),
            ("1-1", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_quantity(s), *want, "{s:?}");
        }
    }
}

#[cfg(test)]
mod exact_tests {
    use super::*;

    fn units(text: &str) -> i64 {
        ParsedQuantity::parse(text)
            .map(|q| q.value())
            .unwrap_or(-999)
    }

    fn millis(text: &str) -> i64 {
        ParsedQuantity::parse(text)
            .map(|q| q.milli_value())
            .unwrap_or(-999)
    }

    #[test]
    fn decimal_and_binary_suffixes_should_scale_exactly() {
        let cases = [
            ("1", 1),
            ("0", 0),
            ("128Mi", 128 << 20),
            ("1Gi", 1 << 30),
            ("1G", 1_000_000_000),
            ("1k", 1000),
            ("1e3", 1000),
            ("1E3", 1000),
            ("2E", 2_000_000_000_000_000_000),
            ("1.5Gi", 3 << 29),
            ("+7", 7),
            ("-7", -7),
            (".5k", 500),
            ("5.", 5),
            ("1Ei", 1 << 60),
        ];
        for (text, want) in cases {
            assert_eq!(units(text), want, "{text}");
        }
    }

    #[test]
    fn milli_values_should_round_up() {
        let cases = [
            ("100m", 100),
            ("1", 1000),
            ("0.1", 100),
            ("1.5", 1500),
            ("1u", 1),
            ("1n", 1),
            ("1500u", 2),
            ("2e-3", 2),
            ("0", 0),
        ];
        for (text, want) in cases {
            assert_eq!(millis(text), want, "{text}");
        }
    }

    #[test]
    fn values_should_round_up_to_whole_units() {
        assert_eq!(units("100m"), 1);
        assert_eq!(units("1001m"), 2);
        assert_eq!(units("1000m"), 1);
        assert_eq!(units("1e-40"), 1);
    }

    #[test]
    fn huge_values_should_saturate() {
        assert_eq!(units("1e30"), i64::MAX);
        assert_eq!(units("16Ei"), i64::MAX);
        assert_eq!(units("0e30"), 0);
    }

    #[test]
    fn malformed_quantities_should_be_rejected() {
        for text in [
            "", "abc", "1.2.3", "1Zi", "1e", "1e+", ".", "1 Gi", "--1", "1ki",
        ] {
            assert!(ParsedQuantity::parse(text).is_err(), "{text:?} should fail");
        }
    }
}
