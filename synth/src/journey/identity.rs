//! Registration: the child's identity, family and address, and what happened before the main episode
//! (early help, contacts that went no further).

use super::*;

impl Sim<'_> {
    pub(super) fn register(&mut self, f: Date) {
        let sk = self.sk;
        let given = people::given_name(&mut self.rng, self.sex);
        let family = people::family_name(&mut self.rng);
        let age = self.age_on(f);
        let born = !sk.unborn;
        let school_age = (5..=16).contains(&age);
        let upn = (born && school_age && self.rng.chance(0.9)).then(|| {
            let joined = self.dob.add_years(5).year();
            people::upn(&mut self.rng, &self.p.la_code, joined)
        });
        let uasc = sk.care.is_some_and(|c| c.route == Route::Uasc);
        let upn_unknown_reason = match (born, upn.is_some()) {
            (true, false) if uasc => Some(UpnUnknownReason::UN2),
            (true, false) if age < 5 => Some(UpnUnknownReason::UN1),
            (true, false) if self.rng.chance(0.5) => Some(UpnUnknownReason::UN3),
            _ => None,
        };
        let nhs_number = (born && !uasc && self.rng.chance(0.93)).then(|| people::nhs_number(&mut self.rng));
        let ethnicity = if uasc {
            self.rng.weighted(&[
                (Ethnicity::BAFR, 0.35),
                (Ethnicity::AOTH, 0.3),
                (Ethnicity::OOTH, 0.3),
                (Ethnicity::NOBT, 0.05),
            ])
        } else {
            self.rng.weighted(&[
                (Ethnicity::WBRI, 0.62),
                (Ethnicity::WOTH, 0.06),
                (Ethnicity::WIRI, 0.005),
                (Ethnicity::WROM, 0.005),
                (Ethnicity::MWBC, 0.03),
                (Ethnicity::MWAS, 0.02),
                (Ethnicity::MOTH, 0.03),
                (Ethnicity::AIND, 0.03),
                (Ethnicity::APKN, 0.04),
                (Ethnicity::ABAN, 0.01),
                (Ethnicity::BAFR, 0.04),
                (Ethnicity::BCRB, 0.015),
                (Ethnicity::CHNE, 0.005),
                (Ethnicity::OOTH, 0.01),
                (Ethnicity::NOBT, 0.03),
            ])
        };
        let disabilities = if !born || self.rng.chance(0.1) {
            Vec::new()
        } else if self.rng.chance(0.88) {
            vec![Disability::NONE]
        } else {
            let a = self.rng.pick(&[
                Disability::AUT,
                Disability::LD,
                Disability::COMM,
                Disability::BEH,
                Disability::MOB,
            ]);
            let b = self
                .rng
                .pick(&[Disability::HEAR, Disability::VIS, Disability::PC, Disability::DDA]);
            if self.rng.chance(0.3) { vec![a, b] } else { vec![a] }
        };
        let registered = ChildRegistered {
            given_name: (born || self.rng.chance(0.3)).then(|| text(given)),
            family_name: Some(text(family)),
            preferred_name: None,
            date_of_birth: born.then_some(self.dob),
            expected_date_of_birth: (!born).then(|| self.dob.add_days(self.rng.int(-10, 10))),
            sex: self.sex,
            ethnicity: (born || self.rng.chance(0.5)).then_some(ethnicity),
            upn,
            former_upn: None,
            upn_unknown_reason,
            nhs_number,
            disabilities,
            family_id: None,
        };
        self.emit(f, registered, Src::La);
        // A child registered before school age without a UPN (UN1) is given one when they start school
        // (SSDA903 rule 209: no UN1 for a child of school age).
        if born && upn_unknown_reason == Some(UpnUnknownReason::UN1) {
            let starts_school = self.dob.add_years(4).add_days(200).max(f.add_days(1));
            if starts_school <= self.end {
                let joined = starts_school.year();
                let upn = people::upn(&mut self.rng, &self.p.la_code, joined);
                self.emit(
                    starts_school,
                    ChildDetailsAmended {
                        upn: Some(upn),
                        ..ChildDetailsAmended::default()
                    },
                    Src::La,
                );
            }
        }
    }

    /// Contacts, early help or an earlier short episode before the main referral.
    pub(super) fn prelude(&mut self, sk: Skeleton) {
        let f = sk.first_contact;
        match sk.prelude {
            Prelude::None => {}
            Prelude::Contacts => {
                let outcome = self.rng.pick(&[
                    ContactOutcome::NoFurtherAction,
                    ContactOutcome::InformationAndAdvice,
                    ContactOutcome::SignpostedToOtherAgency,
                ]);
                self.contact(f, outcome, None);
            }
            Prelude::EarlyHelp => {
                let (_, decided) = self.contact(f, ContactOutcome::EarlyHelp, None);
                let until = sk.main.add_days(-self.rng.int(0, 3)).max(decided.add_days(20));
                let start = decided.add_days(self.rng.int(1, 10));
                self.early_help(
                    start,
                    until,
                    Some(EarlyHelpEndReason::SteppedUpToSocialCare),
                    false,
                );
            }
            Prelude::ReferralNfa => {
                let (contact, decided) = self.contact(f, ContactOutcome::ReferralToChildrensSocialCare, None);
                self.referral_nfa(decided, contact);
            }
            Prelude::Assessed => {
                let (contact, decided) = self.contact(f, ContactOutcome::ReferralToChildrensSocialCare, None);
                let r = self.referral(decided, contact, false);
                let latest = sk.main.add_days(-10);
                let done = self.assessment(r, Some(latest), false);
                self.close_after_assessment(done, Some(sk.main.add_days(-1)));
            }
        }
    }
}
