//! The authority's fixed cast: the agencies and systems that send events, the principals they authenticate
//! as, the working-day calendar, schools, teams and the pools of workers. Built once per generation.

use journey_core::codes::CodeList;
use journey_core::codes::CollectionYear;
use journey_core::domain::{Professional, ShortText, WorkerId};
use journey_core::ids::{AgencyId, PrincipalId, Source, SystemId};
use journey_core::time::Date;

use super::calendar::Calendar;
use super::people::name_for;
use super::profile::AuthorityProfile;

/// Who sent an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Src {
    /// The authority's case management system.
    La,
    Police,
    Health,
    School(u16),
    /// History migrated from the authority's previous system at go-live.
    Import,
}

#[derive(Debug)]
pub(crate) struct Sender {
    pub source: Source,
    pub principal: PrincipalId,
}

#[derive(Debug)]
pub(crate) struct World {
    pub cal: Calendar,
    pub la: Sender,
    pub police: Sender,
    pub health: Sender,
    pub import: Sender,
    pub schools: Vec<(Sender, ShortText)>,
    pub name: String,
    pub police_name: ShortText,
    pub health_name: ShortText,
    pub court: ShortText,
    /// Pool sizes.
    pub social_workers: u32,
}

fn sender(agency: &str, system: &str, principal: &str) -> Sender {
    Sender {
        source: Source {
            agency: AgencyId::parse(agency).expect("generated agency ids are valid"),
            system: SystemId::parse(system).expect("generated system ids are valid"),
        },
        principal: PrincipalId::parse(principal).expect("generated principals are valid"),
    }
}

pub(crate) fn text(s: &str) -> ShortText {
    ShortText::parse(s).expect("generated short text is valid")
}

const SCHOOL_NAMES: &[&str] = &[
    "Oak Tree Primary School",
    "St Anne's CE Primary School",
    "Meadowbank Academy",
    "Riverside Primary School",
    "Hillcrest High School",
    "Northfield Community School",
    "Willow Park Primary",
    "Kingsway Academy",
    "Elm Grove Infant School",
    "Southgate Secondary School",
    "Brookside Junior School",
    "Castle View School",
    "Fernhill Primary School",
    "Greenway Academy",
    "Larchwood Primary School",
    "The Exampleton Free School",
    "Holy Trinity RC Primary",
    "Ashfield High School",
    "Moorside Primary School",
    "Westbrook College",
];

impl World {
    pub(crate) fn new(p: &AuthorityProfile) -> World {
        let first = p.start.year() - p.history_years.max(0) - 1;
        let cal = Calendar::new(first.min(2012), p.end.year() + 25);
        let slug = &p.slug;
        let schools = SCHOOL_NAMES
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let urn = 100_100 + i * 37;
                (
                    sender(&format!("school.{urn}"), "cpoms", &format!("svc-school-{urn}")),
                    text(name),
                )
            })
            .collect();
        World {
            cal,
            la: sender(
                &format!("la.{slug}"),
                &p.case_system,
                &format!("svc-{}", p.case_system),
            ),
            police: sender(&format!("police.{slug}"), "niche-rms", "svc-police-niche"),
            health: sender(&format!("nhs.{slug}"), "systmone", "svc-nhs-systmone"),
            import: sender(&format!("la.{slug}"), "legacy-migration", "importer"),
            schools,
            name: p.name.clone(),
            police_name: text(&format!("{} Police", p.name)),
            health_name: text(&format!("{} Community Health NHS Trust", p.name)),
            court: text(&format!("Family Court at {}", p.name)),
            social_workers: (p.children as u32 / 30).clamp(12, 4000),
        }
    }

    pub(crate) fn sender(&self, src: Src) -> &Sender {
        match src {
            Src::La => &self.la,
            Src::Police => &self.police,
            Src::Health => &self.health,
            Src::Import => &self.import,
            Src::School(i) => &self.schools[usize::from(i) % self.schools.len()].0,
        }
    }

    pub(crate) fn school_name(&self, i: u16) -> ShortText {
        self.schools[usize::from(i) % self.schools.len()].1.clone()
    }
}

/// A professional of a kind (`SW`, `IRO`, `PA`...) and number, with a stable invented name.
pub(crate) fn professional(kind: &str, n: u32, role: &str, organisation: &str) -> Professional {
    let salt = kind
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(131).wrapping_add(u64::from(b)));
    Professional {
        worker_id: WorkerId::parse(format!("{kind}{n:04}")).expect("generated worker ids are valid"),
        name: Some(text(&name_for(
            salt.wrapping_mul(1_000_003).wrapping_add(u64::from(n)),
        ))),
        role: Some(text(role)),
        organisation: Some(text(organisation)),
    }
}

/// The collection year of `d`, clamped to the years the code lists know.
pub(crate) fn year_of(d: Date) -> CollectionYear {
    CollectionYear::containing(d).unwrap_or(if d < CollectionYear::FIRST_SUPPORTED.start_date() {
        CollectionYear::FIRST_SUPPORTED
    } else {
        CollectionYear::LAST_SUPPORTED
    })
}

/// Whether `code` is in the DfE list for the collection year of `d`.
pub(crate) fn valid_on<T: CodeList>(code: T, d: Date) -> bool {
    code.valid_in(year_of(d))
}
