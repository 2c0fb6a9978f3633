//! Resource quantities (`100m`, `1.5`, `128Mi`, `1e3`) read as numbers, for
//! comparisons (requests ≤ limits, QoS classes). Canonical formatting is not
//! needed here: quantities are stored as the client wrote them.

/// Upstream's words for a malformed quantity.
pub const QUANTITY_FORMAT_ERROR: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// The numeric value of a quantity string, or `None` if it is malformed.
pub fn parse_quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-')))
        .map_or(s.len(), |(i, _)| i);
    let (number, suffix) = s.split_at(split);
    if number.is_empty() || number.chars().skip(1).any(|c| matches!(c, '+' | '-')) {
        return None;
    }
    let number: f64 = number.parse().ok()?;
    Some(number * multiplier(suffix)?)
}

fn multiplier(suffix: &str) -> Option<f64> {
    let binary = |power: i32| Some(1024f64.powi(power));
    let decimal = |power: i32| Some(10f64.powi(power));
    match suffix {
        "" => Some(1.0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(1),
        "Mi" => binary(2),
        "Gi" => binary(3),
        "Ti" => binary(4),
        "Pi" => binary(5),
        "Ei" => binary(6),
        exponent => {
            let digits = exponent
                .strip_prefix('e')
                .or_else(|| exponent.strip_prefix('E'))?;
            decimal(digits.parse().ok()?)
        }
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
