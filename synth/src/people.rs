//! Invented people and identifiers: names drawn from short lists of common given names and surnames,
//! postcodes in an area that does not exist (no real postcode area starts with Q), UPNs with correct check
//! letters, and NHS numbers from the 999 range the NHS reserves for test data. Nothing here describes a
//! real person.

use journey_core::codes::Sex;
use journey_core::domain::values::{LaCode, NhsNumber, Postcode, Upn, nhs_check_digit, upn_check_letter};

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

/// Real postcode units (ONS Postcode Directory, Open Government Licence v3.0): in Coventry (the authority
/// the DfE validator is run as, ONS code E08000026) and, for placements out of area, in Warwickshire.
/// Postcodes are not personal data; the DfE returns geocode them (placement authority, distance from
/// home), which the fictional `QX` area cannot give. See [`super::PostcodeArea`].
const REAL_IN_AREA: &[&str] = &[
    "CV1 1AA", "CV1 1QR", "CV1 2JY", "CV1 2ZF", "CV1 3PF", "CV1 4JA", "CV1 5DS", "CV1 5SL", "CV2 1LN",
    "CV2 2AL", "CV2 2PF", "CV2 3BZ", "CV2 3QN", "CV2 4JW", "CV2 5AY", "CV2 5PP", "CV3 1JU", "CV3 2GL",
    "CV3 2WH", "CV3 3HF", "CV3 4UU", "CV3 5LJ", "CV3 6EU", "CV3 6XX", "CV3 9JS", "CV3 9ZA", "CV4 7DQ",
    "CV4 8FT", "CV4 9BT", "CV4 9QG", "CV5 6AZ", "CV5 6PP", "CV5 7BZ", "CV5 7QW", "CV5 8JD", "CV5 9EZ",
    "CV5 9YP", "CV6 1LT", "CV6 2FY", "CV6 3DD", "CV6 4DP", "CV6 4WR", "CV6 5LE", "CV6 5ZW", "CV6 6PH",
    "CV6 7HZ", "CV6 9FD",
];
const REAL_OUT_OF_AREA: &[&str] = &[
    "CV10 0AA", "CV10 7DD", "CV10 8PN", "CV11 4AW", "CV11 5ET", "CV11 6LJ", "CV11 9HZ", "CV12 2DW",
    "CV12 9JW", "CV21 1PZ", "CV21 2TD", "CV21 3XP", "CV21 9JZ", "CV22 5RE", "CV22 7DT", "CV23 0FE",
];

/// A postcode in the authority's area: fictional (`QX`, by district) or real.
pub(crate) fn postcode_in(area: super::PostcodeArea, rng: &mut Rng, district: u32) -> Postcode {
    match area {
        super::PostcodeArea::Fictional => postcode(rng, district),
        super::PostcodeArea::Real => real(rng.pick(REAL_IN_AREA)),
    }
}

/// A real postcode outside the authority's area (for placements out of area).
pub(crate) fn real_out_of_area(rng: &mut Rng) -> Postcode {
    real(rng.pick(REAL_OUT_OF_AREA))
}

fn real(s: &str) -> Postcode {
    Postcode::parse(s).expect("the real postcodes listed are well formed")
}

/// The DfE's three-digit codes of English local authorities (as the SSDA903 validator lists them, rule 633).
const LA_CODES: &[&str] = &[
    "201", "202", "203", "204", "205", "206", "207", "208", "209", "210", "211", "212", "213", "301", "302",
    "303", "304", "305", "306", "307", "308", "309", "310", "311", "312", "313", "314", "315", "316", "317",
    "318", "319", "320", "330", "331", "332", "333", "334", "335", "336", "340", "341", "342", "343", "344",
    "350", "351", "352", "353", "354", "355", "356", "357", "358", "359", "370", "371", "372", "373", "380",
    "381", "382", "383", "384", "390", "391", "392", "393", "394", "420", "800", "801", "802", "803", "805",
    "806", "807", "808", "810", "811", "812", "813", "815", "816", "821", "822", "823", "825", "826", "830",
    "831", "835", "836", "837", "840", "841", "845", "846", "850", "851", "852", "855", "856", "857", "860",
    "861", "865", "866", "867", "868", "869", "870", "871", "872", "873", "874", "876", "877", "878", "879",
    "880", "881", "882", "883", "884", "885", "886", "887", "888", "889", "890", "891", "892", "893", "894",
    "895", "896", "908", "909", "916", "919", "921", "925", "926", "928", "929", "931", "933", "935", "936",
    "937", "938",
];

/// A real English local authority's DfE code.
pub(crate) fn la_code(rng: &mut Rng) -> LaCode {
    LaCode::parse(rng.pick(LA_CODES)).expect("the listed codes are three digits")
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
    use crate::rng::Purpose;

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
