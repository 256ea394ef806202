//! Value types shared by the payloads: bounded free text, validated identifiers (UPN, NHS number,
//! postcode, Ofsted URN, local authority code), people other than the child, and placements.
//!
//! Every type here checks itself when it is parsed (JSON or bincode), so a payload that exists is a payload
//! whose parts are well formed; `validate()` only has to check how the parts fit together.
//!
//! **Stored encoding.** bincode writes struct fields in declaration order: never reorder, remove or insert
//! fields in a released struct (a change means a new schema version; see `docs/adr/0002-record-encoding.md`).
//! Enums declared with `code_list!` (here and in `lists.rs`) are stored as their code strings, so their
//! variant order does not matter.

use serde::{Deserialize, Serialize};

use crate::codes::{PlacementProvider, PlacementType};
use crate::error::Problems;
use crate::ids::validated_string;
use crate::time::Date;

use super::lists::Relationship;
use super::lists::{EntitlementKind, PartnerAgency, PlacementLocation};

fn no_control_chars(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

fn short_text(s: &str) -> bool {
    if s.is_ascii() {
        // The same rule in one pass over the bytes: ASCII control characters are 0x00-0x1F and 0x7F, and
        // once they are excluded the only ASCII whitespace `trim` removes is the space.
        return s.len() <= ShortText::MAX_CHARS
            && s.bytes().all(|b| b >= 0x20 && b != 0x7f)
            && s.bytes().any(|b| b != b' ');
    }
    s.chars().count() <= ShortText::MAX_CHARS && no_control_chars(s) && !s.trim().is_empty()
}

fn long_text(s: &str) -> bool {
    if s.is_ascii() {
        // As `short_text`, except that tab, line feed and carriage return are allowed (and are whitespace).
        let allowed_control = |b: u8| matches!(b, b'\n' | b'\r' | b'\t');
        return s.len() <= LongText::MAX_CHARS
            && s.bytes().all(|b| (b >= 0x20 && b != 0x7f) || allowed_control(b))
            && s.bytes().any(|b| b != b' ' && !allowed_control(b));
    }
    s.chars().count() <= LongText::MAX_CHARS
        && !s
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        && !s.trim().is_empty()
}

fn is_token(s: &str) -> bool {
    // Byte by byte: every allowed character is ASCII, and no byte of a multi-byte character is.
    s.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

validated_string!(
    /// A short piece of free text: a name, a role, an organisation, a team. At most 200 characters, one line.
    ShortText,
    field = "text",
    max = 800,
    rule = "must be 1 to 200 characters of text on one line (no control characters), not only spaces",
    valid = short_text
);

impl ShortText {
    pub const MAX_CHARS: usize = 200;
}

validated_string!(
    /// Free text: a summary, a reason, a note. At most 4,000 characters; line breaks and tabs allowed.
    LongText,
    field = "text",
    max = 16000,
    rule = "must be 1 to 4000 characters of text (line breaks and tabs allowed, no other control characters), \
            not only spaces",
    valid = long_text
);

impl LongText {
    pub const MAX_CHARS: usize = 4000;
}

validated_string!(
    /// The sending system's identifier for a person other than the child (a parent, a carer, a referrer):
    /// stable, so that a subject-access export can find every event holding that person's data.
    PersonId,
    field = "person_id",
    max = 64,
    rule = "must be 1 to 64 characters: ASCII letters, digits, '-', '_', '.', ':' and start with a letter or digit",
    valid = is_token
);

validated_string!(
    /// The employer's identifier for a professional (the SSDA903 `SW_ID` for a social worker).
    WorkerId,
    field = "worker_id",
    max = 64,
    rule = "must be 1 to 64 characters: ASCII letters, digits, '-', '_', '.', ':' and start with a letter or digit",
    valid = is_token
);

validated_string!(
    /// An identifier grouping siblings or an adoptive family (Ofsted Annex A list 10/11 "family identifier").
    FamilyId,
    field = "family_id",
    max = 64,
    rule = "must be 1 to 64 characters: ASCII letters, digits, '-', '_', '.', ':' and start with a letter or digit",
    valid = is_token
);

/// The 23 letters a UPN check letter (and the last character of a temporary UPN) is drawn from.
const UPN_LETTERS: &[u8; 23] = b"ABCDEFGHJKLMNPQRTUVWXYZ";

/// The check letter of the UPN whose last 12 characters are `rest`, or `None` if `rest` is malformed.
/// DfE "A guide to the UPN": weights 2..=13 on characters 2..=13, sum modulo 23, mapped through
/// `ABCDEFGHJKLMNPQRTUVWXYZ`; a letter in position 13 (a temporary UPN) counts as its index in that list.
pub fn upn_check_letter(rest: &str) -> Option<char> {
    let b = rest.as_bytes();
    if b.len() != 12 || !b[..11].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut sum = 0usize;
    for (i, &c) in b.iter().enumerate() {
        let value = if c.is_ascii_digit() {
            usize::from(c - b'0')
        } else if i == 11 {
            UPN_LETTERS.iter().position(|&l| l == c)?
        } else {
            return None;
        };
        sum += value * (i + 2);
    }
    Some(char::from(UPN_LETTERS[sum % 23]))
}

fn is_upn(s: &str) -> bool {
    s.len() == 13 && s.is_ascii() && upn_check_letter(&s[1..]).is_some_and(|c| s.starts_with(c))
}

validated_string!(
    /// A Unique Pupil Number: a check letter, 11 digits and a digit (or, for a temporary UPN, a letter), with
    /// the DfE check letter (CIN census rule 1510, SSDA903 rule 168).
    Upn,
    field = "upn",
    max = 13,
    rule = "must be a 13-character UPN: a check letter, 11 digits, then a digit or (temporary UPN) a capital \
            letter other than I, O, S, with the correct check letter",
    valid = is_upn
);

/// The NHS number check digit for the first nine digits, or `None` when no valid check digit exists
/// (remainder 10). Modulus 11 with weights 10..=2.
pub fn nhs_check_digit(first_nine: &[u8]) -> Option<u8> {
    if first_nine.len() != 9 || !first_nine.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = first_nine
        .iter()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * (10 - i as u32))
        .sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        d => Some(d as u8),
    }
}

fn is_nhs_number(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10 && b.iter().all(u8::is_ascii_digit) && nhs_check_digit(&b[..9]) == Some(b[9] - b'0')
}

validated_string!(
    /// An NHS number: ten digits, no spaces, with a valid modulus-11 check digit.
    NhsNumber,
    field = "nhs_number",
    max = 10,
    rule = "must be an NHS number: 10 digits without spaces, the last a valid modulus-11 check digit",
    valid = is_nhs_number
);

fn is_postcode(s: &str) -> bool {
    let Some((outward, inward)) = s.split_once(' ') else {
        return false;
    };
    let o = outward.as_bytes();
    let i = inward.as_bytes();
    let upper = |c: &u8| c.is_ascii_uppercase();
    let digit = |c: &u8| c.is_ascii_digit();
    let inward_ok = i.len() == 3 && digit(&i[0]) && upper(&i[1]) && upper(&i[2]);
    let outward_ok = match o {
        [a, b] => upper(a) && digit(b),
        [a, b, c] => upper(a) && ((digit(b) && (digit(c) || upper(c))) || (upper(b) && digit(c))),
        [a, b, c, d] => upper(a) && upper(b) && digit(c) && (digit(d) || upper(d)),
        _ => false,
    };
    inward_ok && outward_ok
}

validated_string!(
    /// A full UK postcode in capitals with one space: `CV1 2AB`, `B15 2TT`, `SW1A 1AA`.
    Postcode,
    field = "postcode",
    max = 8,
    rule = "must be a full UK postcode in capitals with a single space before the last three characters, \
            e.g. \"CV1 2AB\"",
    valid = is_postcode
);

fn is_urn(s: &str) -> bool {
    let digits = match s.as_bytes() {
        [a, b, rest @ ..] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => rest,
        all => all,
    };
    (6..=7).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit)
}

validated_string!(
    /// An Ofsted unique reference number of a provider or setting: `SC123456`, `1234567`.
    Urn,
    field = "urn",
    max = 9,
    rule = "must be an Ofsted URN: 6 or 7 digits, optionally after two capital letters such as SC",
    valid = is_urn
);

validated_string!(
    /// A local authority's three-digit DfE code (`331` for Coventry).
    LaCode,
    field = "la_code",
    max = 3,
    rule = "must be a local authority's three-digit DfE code, e.g. \"331\"",
    valid = |s| s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit())
);

fn partial_date_parts(s: &str) -> Option<(i16, Option<i8>, Option<i8>)> {
    let b = s.as_bytes();
    let num = |r: &[u8]| -> Option<i32> {
        if r.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(r).ok()?.parse().ok()
        } else {
            None
        }
    };
    let year = num(b.get(0..4)?)? as i16;
    match b.len() {
        4 => Some((year, None, None)),
        7 if b[4] == b'-' => Some((year, Some(num(&b[5..7])? as i8), None)),
        10 if b[4] == b'-' && b[7] == b'-' => {
            Some((year, Some(num(&b[5..7])? as i8), Some(num(&b[8..10])? as i8)))
        }
        _ => None,
    }
}

fn is_partial_date(s: &str) -> bool {
    match partial_date_parts(s) {
        Some((y, None, _)) => y >= 1900,
        Some((y, Some(m), None)) => y >= 1900 && (1..=12).contains(&m),
        Some((y, Some(m), Some(d))) => y >= 1900 && Date::new(y, m, d).is_ok(),
        None => false,
    }
}

validated_string!(
    /// A date of which only the year, or the year and month, may be known: `2012`, `2012-06`, `2012-06-14`
    /// (SSDA903 `DATE_PERM` allows unknown day and month).
    PartialDate,
    field = "date",
    max = 10,
    rule = "must be a year YYYY, a month YYYY-MM or a date YYYY-MM-DD (from 1900)",
    valid = is_partial_date
);

impl PartialDate {
    /// The earliest day the value can denote (1 January of the year when only the year is known).
    pub fn earliest(&self) -> Date {
        let (y, m, d) = partial_date_parts(self.as_str()).expect("validated on construction");
        Date::new(y, m.unwrap_or(1), d.unwrap_or(1)).expect("validated on construction")
    }
}

/// A person other than the child whose personal data an event carries: a parent, sibling, carer, adopter,
/// a member of the public who made a referral. Reported by `data_subjects()`, so a subject-access export can
/// withhold it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct ThirdParty {
    /// The sending system's id for this person (stable across events).
    pub person_id: PersonId,
    /// How the person is related to the child.
    pub relationship: Relationship,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<ShortText>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<Date>,
    /// Address, telephone or email, as free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_details: Option<ShortText>,
}

/// Who made a contact or referral. `confidential` records that the referrer asked for their identity to be
/// withheld from the family: a subject-access export must not disclose it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct Referrer {
    pub person: ThirdParty,
    #[serde(default)]
    pub confidential: bool,
}

/// A professional acting in their role (a social worker, a chair, a police officer, a teacher).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct Professional {
    pub worker_id: WorkerId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<ShortText>,
    /// The job title or role in this piece of work ("designated safeguarding lead", "chair").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<ShortText>,
    /// The employing organisation, as free text ("West Midlands Police", "Oak Tree Primary School").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<ShortText>,
}

/// One agency at a meeting (strategy discussion, conference, core group): whether it was invited, whether
/// it attended, whether it sent a report. The Coventry inspections found police absent and reports missing:
/// attendance by agency is data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct AgencyAttendance {
    pub agency: PartnerAgency,
    pub invited: bool,
    pub attended: bool,
    /// Whether the agency submitted a written report (conferences); `None` when not asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_submitted: Option<bool>,
    /// The professional who represented the agency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub professional: Option<Professional>,
}

/// A family member or other non-professional at a meeting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct PersonAttendance {
    pub person: ThirdParty,
    pub attended: bool,
}

/// Where a looked-after child lives: the SSDA903 episode columns `PLACE`, `PLACE_PROVIDER`, `PL_POST`, `URN`
/// and Ofsted Annex A list 8 "Placement Location" and "LA of Placement".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    pub place_type: PlacementType,
    /// Required except for temporary (T0-T3) and "other" (Z1, Z11-Z14) placements, which have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<PlacementProvider>,
    /// The placement's postcode (SSDA903 `PL_POST`). For a family placement it is the carers' address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<Postcode>,
    /// The Ofsted URN of the setting or agency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urn: Option<Urn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<PlacementLocation>,
    /// The local authority the placement is in, when outside the responsible authority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub la_of_placement: Option<LaCode>,
    /// The carers, when the placement is with a family.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carers: Vec<ThirdParty>,
}

impl Placement {
    /// The placement type is used on the day the placement started (the event's date): K3 only from
    /// 2024/25, H5, P2 and Z1 only to 2024/25, Z11-Z14 only from 2025/26.
    pub(crate) fn check_codes(&self, at: &str, on: Date, p: &mut Problems) {
        super::code_on(p, &format!("{at}.place_type"), self.place_type, on);
    }

    /// SSDA903 rule 178 and the provider rules: PR0 only with P1; no provider for temporary (T0-T3) and
    /// "other" (Z1, Z11-Z14) placements; a provider for every other placement (optional for T4, whose rule
    /// changed between collection years).
    pub fn validate(&self, at: &str, p: &mut Problems) {
        let t = self.place_type;
        let provider_field = format!("{at}.provider");
        let no_provider = matches!(
            t,
            PlacementType::T0 | PlacementType::T1 | PlacementType::T2 | PlacementType::T3
        ) || t.is_other();
        match self.provider {
            Some(pr) if no_provider => p.push(
                provider_field,
                format!("must be absent for placement type {t}: temporary (T0-T3) and other (Z1, Z11-Z14) placements have no provider (got {pr})"),
            ),
            Some(PlacementProvider::PR0) if t != PlacementType::P1 => p.push(
                provider_field,
                format!("PR0 (parents or others with parental responsibility) is only valid with placement type P1, not {t}"),
            ),
            None if !no_provider && t != PlacementType::T4 => p.push(
                provider_field,
                format!("is required for placement type {t} (one of PR0-PR5)"),
            ),
            _ => {}
        }
        if self.location == Some(PlacementLocation::InsideLa) && self.la_of_placement.is_some() {
            p.push(
                format!("{at}.la_of_placement"),
                "must be absent when location is inside_la: it names the other authority a placement is in",
            );
        }
        if let Some(i) = duplicate(self.carers.iter().map(|c| &c.person_id)) {
            p.push(
                format!("{at}.carers[{i}].person_id"),
                "names the same person twice",
            );
        }
    }
}

/// Something a care leaver is entitled to: a statutory entitlement or a named item of the local offer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct Entitlement {
    pub kind: EntitlementKind,
    /// The item's name in the local offer: required for `local_offer`, optional otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<ShortText>,
}

impl Entitlement {
    pub fn validate(&self, at: &str, p: &mut Problems) {
        if self.kind == EntitlementKind::LocalOffer && self.name.is_none() {
            p.push(
                format!("{at}.name"),
                "is required for a local_offer entitlement: name the item of the local offer",
            );
        }
    }
}

/// The index of the first item equal to an earlier one.
pub(crate) fn duplicate<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Option<usize> {
    let items: Vec<T> = items.into_iter().collect();
    (1..items.len()).find(|&i| items[..i].contains(&items[i]))
}

#[cfg(test)]
mod tests {
    /// The ASCII fast paths of the text rules give exactly what the character-based rules give.
    #[test]
    fn text_rules_fast_paths_agree_with_the_char_rules() {
        fn short_ref(s: &str) -> bool {
            s.chars().count() <= ShortText::MAX_CHARS && no_control_chars(s) && !s.trim().is_empty()
        }
        fn long_ref(s: &str) -> bool {
            s.chars().count() <= LongText::MAX_CHARS
                && !s
                    .chars()
                    .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
                && !s.trim().is_empty()
        }
        fn token_ref(s: &str) -> bool {
            s.starts_with(|c: char| c.is_ascii_alphanumeric())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        }
        let alphabet = [
            ' ', 'a', '\t', '\n', '\r', '\u{b}', '\u{c}', '\u{7f}', '\0', '\u{1f}', '-', ':', 'é', '\u{85}',
            '\u{a0}',
        ];
        let mut strings = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = strings
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            strings.extend(longer);
        }
        for n in [
            199,
            200,
            201,
            4_999,
            5_000,
            5_001,
            LongText::MAX_CHARS,
            LongText::MAX_CHARS + 1,
        ] {
            strings.push("x".repeat(n));
            strings.push(format!("{} ", "x".repeat(n.saturating_sub(1))));
        }
        for s in &strings {
            assert_eq!(short_text(s), short_ref(s), "{s:?}");
            assert_eq!(long_text(s), long_ref(s), "{s:?}");
            assert_eq!(is_token(s), token_ref(s), "{s:?}");
        }
    }

    use super::*;

    /// Completes a UPN body (12 characters) with its check letter.
    pub(crate) fn upn(rest: &str) -> String {
        format!("{}{rest}", upn_check_letter(rest).unwrap())
    }

    #[test]
    fn upn_check_letter_follows_the_dfe_algorithm() {
        // Worked by hand: digits 9,9,9,0,0,0,0,2,3,0,0,1 weighted 2..13 sum to
        // 18+27+36+0+0+0+0+18+30+0+0+13 = 142; 142 mod 23 = 4, the fifth letter: E.
        assert_eq!(upn_check_letter("999000023001"), Some('E'));
        assert!(Upn::parse("E999000023001").is_ok());
        let err = Upn::parse("A999000023001").unwrap_err();
        assert_eq!(err.field, "upn");
        assert!(err.message.contains("check letter"), "{err}");
        // Temporary UPN: last character a letter (A counts 0).
        assert_eq!(
            upn_check_letter("99900002300A"),
            Some(char::from(UPN_LETTERS[(142 - 13) % 23]))
        );
        assert!(Upn::parse(upn("99900002300A")).is_ok());
        assert!(upn_check_letter("99900002300I").is_none());
        assert!(Upn::parse("E99900002300").is_err());
        assert!(Upn::parse("e999000023001").is_err());
    }

    #[test]
    fn nhs_numbers_need_a_valid_check_digit() {
        assert!(NhsNumber::parse("9434765919").is_ok());
        assert!(NhsNumber::parse("9434765918").is_err());
        assert!(NhsNumber::parse("943 476 5919").is_err());
        // Remainder 10 has no check digit: 1000000010 -> 1*10 + 1*2 = 12... find one systematically.
        let no_digit = (0..1000u32)
            .map(|n| format!("{n:09}"))
            .find(|s| nhs_check_digit(s.as_bytes()).is_none())
            .unwrap();
        for d in 0..10 {
            assert!(NhsNumber::parse(format!("{no_digit}{d}")).is_err());
        }
    }

    #[test]
    fn postcodes_urns_and_partial_dates() {
        for ok in ["CV1 2AB", "B15 2TT", "SW1A 1AA", "M1 1AE", "W1A 0AX", "ZZ1 1ZZ"] {
            assert!(Postcode::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "cv1 2ab", "CV12AB", "CV1  2AB", "CV1 2A", "1V1 2AB", "CV1 AAB", "CVV1 2AB",
        ] {
            assert!(Postcode::parse(bad).is_err(), "{bad}");
        }
        assert!(Urn::parse("SC999999").is_ok() && Urn::parse("2999999").is_ok());
        assert!(Urn::parse("SC99999").is_err() && Urn::parse("sc999999").is_err());
        assert_eq!(
            PartialDate::parse("2012").unwrap().earliest().to_string(),
            "2012-01-01"
        );
        assert_eq!(
            PartialDate::parse("2012-06").unwrap().earliest().to_string(),
            "2012-06-01"
        );
        assert!(PartialDate::parse("2012-13").is_err() && PartialDate::parse("2012-02-30").is_err());
        assert!(LaCode::parse("331").is_ok() && LaCode::parse("33").is_err());
    }

    #[test]
    fn text_is_bounded() {
        assert!(ShortText::parse("x".repeat(200)).is_ok());
        assert!(ShortText::parse("x".repeat(201)).is_err());
        assert!(ShortText::parse("two\nlines").is_err());
        assert!(ShortText::parse("   ").is_err());
        assert!(LongText::parse("é".repeat(4000)).is_ok());
        assert!(LongText::parse("x".repeat(4001)).is_err());
        assert!(LongText::parse("two\nlines\tand a tab").is_ok());
        assert!(LongText::parse("bell\u{7}").is_err());
    }
}
