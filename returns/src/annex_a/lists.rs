//! The eleven Annex A lists: their names, files and columns, with the kind of value each column holds (so
//! that the workbook can write dates as dates and counts as numbers).
//!
//! Column headings as `shared/domain/rules.md` §6.4 gives them (the LIIA tooling's `annex_a_headers.md` and
//! `la-agg.yml`; the Ofsted guidance text itself was not retrieved). Where that table writes two columns as
//! one ("Initial/Latest Category of Abuse", "Stage 1 start/end", "Application submitted/approved") they are
//! two columns here, each with its own heading.

use std::fmt;

/// What a column holds: the workbook writes a [`ColumnKind::Date`] as an Excel date and a
/// [`ColumnKind::Number`] as a number; the CSV writes every cell as text (dates `dd/mm/yyyy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Date,
    Number,
}

/// One of the eleven lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ListKind {
    Contacts,
    EarlyHelp,
    Referrals,
    Assessments,
    Section47,
    ChildrenInNeed,
    ChildProtection,
    LookedAfter,
    CareLeavers,
    Adoption,
    Adopters,
}

use ColumnKind::{Date as D, Number as N, Text as T};

/// The common columns of lists 1 to 10 after "Child Unique ID" and the sex column.
const COMMON_TAIL: [(&str, ColumnKind); 3] = [
    ("Ethnicity", T),
    ("Date of Birth", D),
    ("Age of Child (Years)", N),
];

const CONTACTS: &[(&str, ColumnKind)] = &[("Date of Contact", D), ("Contact Source", T)];

const EARLY_HELP: &[(&str, ColumnKind)] = &[
    ("Assessment start date", D),
    ("Assessment completion date", D),
    ("Organisation completing assessment", T),
];

const REFERRALS: &[(&str, ColumnKind)] = &[
    ("Date of referral", D),
    ("Referral Source", T),
    ("Referral NFA?", T),
    ("Number of Referrals in Last 12 Months", N),
    ("Allocated Team", T),
    ("Allocated Worker", T),
];

const ASSESSMENTS: &[(&str, ColumnKind)] = &[
    ("Disability", T),
    ("Continuous Assessment Start Date", D),
    ("Child Seen During Continuous Assessment", T),
    ("Continuous Assessment Date of Authorisation", D),
    (
        "Was the child assessed as requiring LA children's social care support?",
        T,
    ),
    ("Team", T),
    ("Worker", T),
];

const SECTION_47: &[(&str, ColumnKind)] = &[
    ("Disability", T),
    ("Strategy discussion initiating Section 47 Enquiry Start Date", D),
    ("Was an ICPC deemed unnecessary?", T),
    ("Date of ICPC", D),
    ("Did the ICPC Result in a CP Plan", T),
    ("Number of s47 Enquiries in last 12 months", N),
    ("Number of ICPCs in last 12 months", N),
    ("Team", T),
    ("Worker", T),
];

const CHILDREN_IN_NEED: &[(&str, ColumnKind)] = &[
    ("Disability", T),
    ("CIN Start Date", D),
    ("Primary Need Code", T),
    ("Date Child Was Last Seen", D),
    ("CIN Closure Date", D),
    ("Reason for Closure", T),
    ("Case Status", T),
    ("Team", T),
    ("Worker", T),
];

const CHILD_PROTECTION: &[(&str, ColumnKind)] = &[
    ("Disability", T),
    ("CPP Start Date", D),
    ("Initial Category of Abuse", T),
    ("Latest Category of Abuse", T),
    ("Date of the Last Statutory Visit", D),
    ("Was the Child Seen Alone?", T),
    ("Date of latest review conference", D),
    ("CPP End Date", D),
    ("EPO/police protection in last 6 months (Y/N)", T),
    ("Number of Previous CPPs", N),
    ("Team", T),
    ("Worker", T),
];

const LOOKED_AFTER: &[(&str, ColumnKind)] = &[
    ("UASC in last 12 months (Y/N)", T),
    ("Disability", T),
    ("Date Started to be Looked After", D),
    ("Category of Need", T),
    ("Second/subsequent period in last 12 months (Y/N)", T),
    ("Start date of current legal status", D),
    ("Legal Status", T),
    ("Date of Latest Statutory Review", D),
    ("Date of Last Social Work Visit", D),
    ("Permanence plan", T),
    ("Date of Last IRO Visit/Contact", D),
    ("Date of Last Health Assessment", D),
    ("Date of Last Dental Check", D),
    ("Number of Placements in last 12 months", N),
    ("Date Ceased LAC", D),
    ("Reason Ceased", T),
    ("Start Date of Most Recent Placement", D),
    ("Placement Type", T),
    ("Placement Provider", T),
    ("Placement postcode", T),
    ("URN", T),
    ("Placement Location", T),
    ("LA of Placement", T),
    ("No. of 'Missing' episodes 12m", N),
    ("No. of 'Absent' episodes 12m", N),
    ("Return Interview offered (Y/N)", T),
    ("Return Interview accepted (Y/N)", T),
    ("Team", T),
    ("Worker", T),
];

const CARE_LEAVERS: &[(&str, ColumnKind)] = &[
    ("UASC/former UASC (Y/N)", T),
    ("Disability", T),
    ("Team", T),
    ("Worker", T),
    ("Allocated Personal Advisor", T),
    ("Eligibility Category", T),
    ("Latest Pathway Plan Review Date", D),
    ("LA in Touch", T),
    ("Latest Date of Contact", D),
    ("Type of Accommodation", T),
    ("Suitability of Accommodation", T),
    ("Activity Status", T),
];

const ADOPTION: &[(&str, ColumnKind)] = &[
    ("Family identifier", T),
    ("Disability", T),
    ("Date Entered Care", D),
    ("Date of ADM Decision to place for adoption", D),
    ("Date of Placement Order", D),
    ("Date of Matching", D),
    ("Date Placed for Adoption", D),
    ("Date of Adoption Order", D),
    ("Date of decision no longer to be placed", D),
    ("Reason", T),
    ("Date placed in FFA/concurrent planning placement", D),
];

/// List 11 after "Individual adopter id", "Family id" and the sex column.
const ADOPTERS_TAIL: &[(&str, ColumnKind)] = &[
    ("Ethnicity", T),
    ("Disability", T),
    ("Fostering for adoption?", T),
    ("Date enquiry received", D),
    ("Stage 1 start", D),
    ("Stage 1 end", D),
    ("Stage 2 start", D),
    ("Stage 2 end", D),
    ("Application submitted", D),
    ("Application approved", D),
    ("Matched", D),
    ("Placed", D),
    ("No. of children placed", N),
    ("Adoption Order", D),
    ("Date of leaving process", D),
    ("Reason", T),
];

impl ListKind {
    pub const ALL: [ListKind; 11] = [
        ListKind::Contacts,
        ListKind::EarlyHelp,
        ListKind::Referrals,
        ListKind::Assessments,
        ListKind::Section47,
        ListKind::ChildrenInNeed,
        ListKind::ChildProtection,
        ListKind::LookedAfter,
        ListKind::CareLeavers,
        ListKind::Adoption,
        ListKind::Adopters,
    ];

    /// The list's number, 1 to 11.
    pub const fn number(self) -> u8 {
        self as u8 + 1
    }

    /// The list's subject, as in its name.
    pub const fn title(self) -> &'static str {
        match self {
            ListKind::Contacts => "Contacts",
            ListKind::EarlyHelp => "Early help",
            ListKind::Referrals => "Referrals",
            ListKind::Assessments => "Assessments",
            ListKind::Section47 => "Section 47",
            ListKind::ChildrenInNeed => "Children in need",
            ListKind::ChildProtection => "Child protection",
            ListKind::LookedAfter => "Children looked after",
            ListKind::CareLeavers => "Care leavers",
            ListKind::Adoption => "Adoption",
            ListKind::Adopters => "Adopters",
        }
    }

    /// "List 1 - Contacts": also the worksheet's name (the longest is 30 characters, within Excel's 31).
    pub fn name(self) -> String {
        format!("List {} - {}", self.number(), self.title())
    }

    /// `annex_a_list_01_contacts.csv`.
    pub fn file_name(self) -> String {
        let slug: String = self
            .title()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        format!("annex_a_list_{:02}_{slug}.csv", self.number())
    }

    /// The columns in order, with their kinds. `sex_heading` is "Gender" or "Sex" (see
    /// [`sex_heading`]).
    pub fn columns(self, sex_heading: &'static str) -> Vec<(&'static str, ColumnKind)> {
        if self == ListKind::Adopters {
            let mut out = vec![("Individual adopter id", T), ("Family id", T), (sex_heading, T)];
            out.extend_from_slice(ADOPTERS_TAIL);
            return out;
        }
        let specific: &[(&str, ColumnKind)] = match self {
            ListKind::Contacts => CONTACTS,
            ListKind::EarlyHelp => EARLY_HELP,
            ListKind::Referrals => REFERRALS,
            ListKind::Assessments => ASSESSMENTS,
            ListKind::Section47 => SECTION_47,
            ListKind::ChildrenInNeed => CHILDREN_IN_NEED,
            ListKind::ChildProtection => CHILD_PROTECTION,
            ListKind::LookedAfter => LOOKED_AFTER,
            ListKind::CareLeavers => CARE_LEAVERS,
            ListKind::Adoption | ListKind::Adopters => ADOPTION,
        };
        let mut out = vec![("Child Unique ID", T), (sex_heading, T)];
        out.extend_from_slice(&COMMON_TAIL);
        out.extend_from_slice(specific);
        out
    }
}

impl fmt::Display for ListKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The heading of the sex column for a window ending in `end_year`: Ofsted's Annex A schema renamed
/// "Gender" to "Sex" from 2026 (`Annex_A_schema_2026.diff.yml`), so a window ending in 2026 or later is
/// headed "Sex", an earlier one "Gender". The values are the same either way.
pub fn sex_heading(end_year: i16) -> &'static str {
    if end_year >= 2026 { "Sex" } else { "Gender" }
}
