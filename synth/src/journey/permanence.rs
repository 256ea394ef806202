//! Permanence through adoption: the adopters and the placement for adoption.

use super::*;

impl Sim<'_> {
    pub(super) fn adopters(&mut self) -> Vec<ThirdParty> {
        match self.current.as_ref() {
            Some(p) if p.place_type.is_placed_for_adoption() => p.carers.clone(),
            _ => Vec::new(),
        }
    }

    /// Matched, then placed for adoption (a placement change to A3-A6 with the adoption record).
    pub(super) fn adoption_placement(&mut self, a: AdoptionDates, care: CarePlan, placement_order: bool) {
        let ffa = self
            .current
            .as_ref()
            .is_some_and(|p| p.place_type == PlacementType::U5);
        let couple = self.rng.chance(0.85);
        let (adopter_count, adopters_sex, adopters_legal_status) = if couple {
            let sex = self.rng.weighted(&[
                (AdopterSex::MF, 0.82),
                (AdopterSex::FF, 0.1),
                (AdopterSex::MM, 0.08),
            ]);
            let ls = if sex == AdopterSex::MF {
                if self.rng.chance(0.8) {
                    AdopterLegalStatus::L11
                } else {
                    AdopterLegalStatus::L3
                }
            } else {
                self.rng.pick(&[
                    AdopterLegalStatus::L12,
                    AdopterLegalStatus::L2,
                    AdopterLegalStatus::L4,
                ])
            };
            (2, sex, ls)
        } else {
            (
                1,
                if self.rng.chance(0.85) {
                    AdopterSex::F1
                } else {
                    AdopterSex::M1
                },
                AdopterLegalStatus::L0,
            )
        };
        let family = format!("AF-{}", self.child);
        let base = self.rng.u64() % 100_000;
        let mut adopters: Vec<ThirdParty> = (0..adopter_count)
            .map(|i| {
                let n = base + u64::from(i);
                ThirdParty {
                    person_id: PersonId::parse(format!("adopter-{n:05}")).expect("valid person id"),
                    relationship: Relationship::Adopter,
                    name: Some(text(&people::name_for(n.wrapping_add(991)))),
                    date_of_birth: None,
                    contact_details: None,
                }
            })
            .collect();
        if ffa && let Some(c) = self.current.as_ref().and_then(|p| p.carers.first()) {
            adopters[0] = ThirdParty {
                relationship: Relationship::Adopter,
                ..c.clone()
            };
        }
        let matched = MatchedWithAdopters {
            adopter_count,
            adopters_sex,
            adopters_legal_status,
            adopters_were_foster_carers: ffa,
            family_id: Some(FamilyId::parse(family).expect("valid family id")),
            adopters: adopters.clone(),
        };
        self.emit(a.matched, matched, Src::La);
        let kind = if placement_order {
            PlacementKind::Adoption {
                with_foster_carers: ffa,
            }
        } else {
            PlacementKind::AdoptionConsent {
                with_foster_carers: ffa,
            }
        };
        let mut p = self.placement(a.placed, kind, care);
        p.carers = adopters;
        self.current = Some(p.clone());
        let g = self.group();
        self.emit_in(
            g,
            a.placed,
            PlacementChanged {
                placement: p,
                reason: Some(ReasonPlaceChange::CARPL),
                same_carers: ffa,
            },
        );
        self.emit_in(g, a.placed, PlacedForAdoption {});
    }
}
