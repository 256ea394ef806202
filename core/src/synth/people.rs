//! Invented people and identifiers: names drawn from short lists of common given names and surnames,
//! postcodes in an area that does not exist (no real postcode area starts with Q), UPNs with correct check
//! letters, and NHS numbers from the 999 range the NHS reserves for test data. Nothing here describes a
//! real person.

use crate::codes::Sex;
use crate::domain::values::{NhsNumber, Postcode, Upn, nhs_check_digit, upn_check_letter};

use super::rng::{Rng, mix};

const GIVEN_F: &[&str] = &[
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Ivy",
    "Lily",
    "Isabella",
    "Rosie",
    "Sophia",
    "Grace",
    "Willow",
    "Freya",
    "Florence",
    "Emily",
    "Ella",
    "Poppy",
    "Evie",
    "Elsie",
    "Charlotte",
    "Evelyn",
    "Sienna",
    "Daisy",
    "Phoebe",
    "Sofia",
    "Alice",
    "Harper",
    "Matilda",
    "Ruby",
    "Emilia",
    "Maya",
    "Millie",
    "Chloe",
    "Layla",
    "Aisha",
    "Zara",
    "Amara",
    "Hannah",
    "Jessica",
    "Leah",
];

const GIVEN_M: &[&str] = &[
    "Noah",
    "Oliver",
    "George",
    "Arthur",
    "Muhammad",
    "Leo",
    "Harry",
    "Oscar",
    "Archie",
    "Henry",
    "Theodore",
    "Freddie",
    "Jack",
    "Charlie",
    "Theo",
    "Alfie",
    "Jacob",
    "Thomas",
    "Finley",
    "Arlo",
    "William",
    "Lucas",
    "Roman",
    "Tommy",
    "Isaac",
    "Teddy",
    "Alexander",
    "Luca",
    "Edward",
    "James",
    "Joshua",
    "Albie",
    "Elijah",
    "Max",
    "Mohammed",
    "Reuben",
    "Mason",
    "Ibrahim",
    "Kai",
    "Tyler",
];

const FAMILY: &[&str] = &[
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Thomas",
    "Clarke",
    "Jackson",
    "Wood",
    "Harris",
    "Edwards",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Hughes",
    "Moore",
    "Clark",
    "King",
    "Harrison",
    "Lewis",
    "Baker",
    "Lee",
    "Allen",
    "Morris",
    "Khan",
    "Scott",
    "Watson",
    "Davis",
    "Parker",
    "James",
    "Bennett",
    "Young",
    "Phillips",
    "Richardson",
    "Mitchell",
    "Bailey",
    "Carter",
    "Cook",
    "Singh",
    "Shaw",
    "Bell",
    "Collins",
    "Morgan",
    "Kelly",
    "Begum",
    "Miller",
    "Cox",
    "Hussain",
    "Marshall",
    "Simpson",
    "Price",
    "Anderson",
    "Adams",
    "Wilkinson",
    "Ali",
    "Ahmed",
    "Foster",
    "Ellis",
    "Murphy",
    "Chapman",
    "Mason",
    "Gray",
    "Richards",
    "Webb",
    "Griffiths",
    "Hunt",
    "Palmer",
    "Campbell",
    "Holmes",
    "Mills",
    "Rogers",
    "Barnes",
    "Knight",
    "Matthews",
    "Barker",
    "Powell",
    "Stevens",
    "Kaur",
    "Fisher",
    "Butler",
    "Dixon",
    "Russell",
    "Harvey",
    "Pearson",
    "Graham",
    "Okafor",
    "Mensah",
    "Nowak",
    "Kowalski",
    "Popescu",
    "Haddad",
    "Rahman",
    "Osei",
];

/// Letters allowed in the inward part of a postcode (no C, I, K, M, O, V).
const INWARD: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

pub(crate) fn given_name(rng: &mut Rng, sex: Sex) -> &'static str {
    match sex {
        Sex::F => rng.pick(GIVEN_F),
        Sex::M => rng.pick(GIVEN_M),
        Sex::U => {
            if rng.chance(0.5) {
                rng.pick(GIVEN_F)
            } else {
                rng.pick(GIVEN_M)
            }
        }
    }
}

pub(crate) fn family_name(rng: &mut Rng) -> &'static str {
    rng.pick(FAMILY)
}

/// A name for worker or carer number `n`, stable across runs.
pub(crate) fn name_for(n: u64) -> String {
    let h = mix(n ^ 0x05EE_D0FA);
    let given = if h & 1 == 0 { GIVEN_F } else { GIVEN_M };
    let g = given[((h >> 8) as usize) % given.len()];
    let f = FAMILY[((h >> 24) as usize) % FAMILY.len()];
    format!("{g} {f}")
}

/// A well-formed postcode in the fictional `QX` area: `QX12 3AB`.
pub(crate) fn postcode(rng: &mut Rng, district: u32) -> Postcode {
    let d = district.clamp(1, 99);
    let s = format!(
        "QX{d} {}{}{}",
        rng.int(0, 9),
        char::from(rng.pick(INWARD)),
        char::from(rng.pick(INWARD))
    );
    Postcode::parse(s).expect("QX postcodes are well formed")
}

/// A UPN with a correct check letter: LA code, a school number, the year the pupil joined, a serial.
pub(crate) fn upn(rng: &mut Rng, la_code: &str, joined_year: i16) -> Upn {
    let rest = format!(
        "{la_code}{:04}{:02}{:03}",
        rng.int(2000, 7999),
        joined_year.rem_euclid(100),
        rng.int(0, 999)
    );
    let check = upn_check_letter(&rest).expect("12 digits always have a check letter");
    Upn::parse(format!("{check}{rest}")).expect("constructed with its check letter")
}

/// An NHS number in the range reserved for test data (999 000 0000 to 999 999 9999), with a valid check
/// digit.
pub(crate) fn nhs_number(rng: &mut Rng) -> NhsNumber {
    loop {
        let first_nine = format!("999{:06}", rng.int(0, 999_999));
        if let Some(d) = nhs_check_digit(first_nine.as_bytes()) {
            return NhsNumber::parse(format!("{first_nine}{d}")).expect("constructed with its check digit");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::rng::Purpose;

    #[test]
    fn identifiers_are_well_formed() {
        let mut rng = Rng::new(7, 0, Purpose::Journey);
        for _ in 0..500 {
            postcode(&mut rng, 14);
            upn(&mut rng, "999", 2019);
            nhs_number(&mut rng);
        }
        assert!(name_for(3).contains(' '));
    }
}
