//! Journey's own code lists: the choices the DfE lists in `crate::codes` do not cover (contact outcomes,
//! conference kinds, court orders, relationships...). Declared with `code_list!`, so JSON and bincode both
//! carry the **code string** (`"no_further_action"`), never a variant index: variants may be added or
//! reordered freely, but a released code string must never be renamed or removed.

use crate::codes::code_list;

code_list! {
    /// How a person other than the child is related to the child.
    Relationship, field = "relationship", {
        Mother = "mother" => "Mother",
        Father = "father" => "Father",
        Parent = "parent" => "Other parent or person with parental responsibility",
        StepParent = "step_parent" => "Step-parent",
        ParentPartner = "parent_partner" => "Partner of a parent, not a step-parent",
        Sibling = "sibling" => "Brother or sister, including half- and step-siblings",
        Grandparent = "grandparent" => "Grandparent",
        OtherRelative = "other_relative" => "Other relative (aunt, uncle, cousin...)",
        OwnChild = "own_child" => "The child's own son or daughter",
        HouseholdMember = "household_member" => "Other member of the child's household",
        FosterCarer = "foster_carer" => "Foster carer",
        Carer = "carer" => "Other carer (kinship carer, residential key worker acting as carer)",
        Adopter = "adopter" => "Prospective or actual adopter",
        SpecialGuardian = "special_guardian" => "Special guardian",
        FamilyFriend = "family_friend" => "Friend of the family",
        Neighbour = "neighbour" => "Neighbour or acquaintance",
        MemberOfPublic = "member_of_public" => "Member of the public",
        Professional = "professional" => "Professional acting in their role",
        Other = "other" => "Other",
    }
}

code_list! {
    /// An agency at a multi-agency meeting.
    PartnerAgency, field = "agency", {
        ChildrensSocialCare = "childrens_social_care" => "Children's social care",
        Police = "police" => "Police",
        Health = "health" => "Health (other, or not specified)",
        Gp = "gp" => "General practitioner",
        HealthVisiting = "health_visiting" => "Health visiting",
        Midwifery = "midwifery" => "Midwifery",
        SchoolNursing = "school_nursing" => "School nursing",
        Paediatrics = "paediatrics" => "Paediatrics / hospital",
        ChildMentalHealth = "child_mental_health" => "Child and adolescent mental health services",
        AdultMentalHealth = "adult_mental_health" => "Adult mental health services",
        Education = "education" => "School or college",
        EarlyYears = "early_years" => "Early years setting",
        EarlyHelp = "early_help" => "Early help service",
        Housing = "housing" => "Housing",
        Probation = "probation" => "Probation",
        YouthJustice = "youth_justice" => "Youth justice service",
        SubstanceMisuse = "substance_misuse" => "Substance misuse service",
        DomesticAbuse = "domestic_abuse" => "Domestic abuse service",
        AdultSocialCare = "adult_social_care" => "Adult social care",
        Legal = "legal" => "Local authority legal services",
        Cafcass = "cafcass" => "Cafcass",
        Voluntary = "voluntary" => "Voluntary or community organisation",
        Other = "other" => "Other agency",
    }
}

code_list! {
    /// Ofsted Annex A list 8 "Placement Location": inside or outside the responsible authority's area.
    PlacementLocation, field = "location", {
        InsideLa = "inside_la" => "Inside the responsible local authority's boundary",
        OutsideLa = "outside_la" => "Outside the responsible local authority's boundary",
    }
}

code_list! {
    /// A care leaver's entitlement (rules.md section 4.2).
    EntitlementKind, field = "entitlement", {
        HigherEducationBursary = "higher_education_bursary" => "Higher education bursary (CA89 s23C(5A))",
        SettingUpHomeAllowance = "setting_up_home_allowance" => "Setting up home allowance / leaving care grant",
        CouncilTaxExemption = "council_tax_exemption" => "Council tax exemption or discount",
        StayingPut = "staying_put" => "Staying put with former foster carers to 21 (CA89 s23CZA)",
        StayingClose = "staying_close" => "Staying close support",
        PersonalAdviserTo25 = "personal_adviser_to_25" => "Personal adviser from 21 to 25 on request (CA89 s23CZB)",
        VacationAccommodation = "vacation_accommodation" => "Vacation accommodation for students (CA89 s24B(5))",
        HealthPassport = "health_passport" => "Health history / health passport",
        LocalOffer = "local_offer" => "Another item of the published local offer (named)",
    }
}

code_list! {
    /// What the front door decided about a contact.
    ContactOutcome, field = "outcome", {
        NoFurtherAction = "no_further_action" => "No further action",
        InformationAndAdvice = "information_and_advice" => "Information and advice given",
        SignpostedToOtherAgency = "signposted_to_other_agency" => "Signposted to another agency or universal service",
        EarlyHelp = "early_help" => "Passed to early help",
        ReferralToChildrensSocialCare = "referral_to_childrens_social_care" => "Referral to children's social care",
        PassedToAllocatedWorker = "passed_to_allocated_worker" => "Case already open: passed to the allocated worker",
    }
}

code_list! {
    /// Why an early help episode ended.
    EarlyHelpEndReason, field = "reason", {
        NeedsMet = "needs_met" => "Needs met / outcomes achieved",
        SteppedUpToSocialCare = "stepped_up_to_social_care" => "Stepped up to children's social care",
        Disengaged = "disengaged" => "Family disengaged",
        ConsentWithdrawn = "consent_withdrawn" => "Consent withdrawn",
        MovedAway = "moved_away" => "Family moved out of the area",
        TransferredToOtherService = "transferred_to_other_service" => "Transferred to another service",
        Other = "other" => "Other (explain in detail)",
    }
}

code_list! {
    /// What a strategy discussion decided.
    StrategyOutcome, field = "outcome", {
        Section47Enquiry = "section_47_enquiry" => "Start a section 47 enquiry",
        ContinueChildInNeed = "continue_child_in_need" => "No section 47: continue under section 17 (child in need)",
        NoFurtherAction = "no_further_action" => "No further action",
        Reconvene = "reconvene" => "Reconvene the strategy discussion",
    }
}

code_list! {
    /// What a section 47 enquiry concluded (CIN census `ICPCnotRequired`; Annex A list 5).
    Section47Outcome, field = "outcome", {
        ConferenceRequired = "conference_required" => "Concerns substantiated: initial child protection conference needed",
        SubstantiatedNoConference = "substantiated_no_conference" => "Concerns substantiated but the child is not judged to be at continuing risk: no conference",
        NotSubstantiated = "not_substantiated" => "Concerns not substantiated",
    }
}

code_list! {
    /// Which child protection conference.
    ConferenceKind, field = "conference_kind", {
        Initial = "initial" => "Initial child protection conference (including pre-birth)",
        Review = "review" => "Review child protection conference",
        TransferIn = "transfer_in" => "Transfer-in conference (child on a plan in another authority)",
    }
}

code_list! {
    /// What a conference decided.
    ConferenceOutcome, field = "outcome", {
        PlanRequired = "plan_required" => "Child protection plan made or continued",
        PlanNotRequired = "plan_not_required" => "No child protection plan, or the plan ends",
    }
}

code_list! {
    /// Why a child protection plan ended.
    CpPlanEndReason, field = "reason", {
        SteppedDownToChildInNeed = "stepped_down_to_child_in_need" => "Stepped down to a child in need plan",
        SteppedDownToEarlyHelp = "stepped_down_to_early_help" => "Stepped down to early help",
        NoFurtherAction = "no_further_action" => "No longer at risk: no further services",
        BecameLookedAfter = "became_looked_after" => "Child became looked after",
        TransferredToAnotherAuthority = "transferred_to_another_authority" => "Moved to another local authority",
        ChildDied = "child_died" => "Child died",
        ReachedEighteen = "reached_eighteen" => "Reached 18",
        Other = "other" => "Other",
    }
}

code_list! {
    /// Why a child in need plan ended.
    CinPlanEndReason, field = "reason", {
        NeedsMet = "needs_met" => "Needs met",
        SteppedDownToEarlyHelp = "stepped_down_to_early_help" => "Stepped down to early help",
        SteppedUpToChildProtection = "stepped_up_to_child_protection" => "Stepped up to a child protection plan",
        BecameLookedAfter = "became_looked_after" => "Child became looked after",
        TransferredToAnotherAuthority = "transferred_to_another_authority" => "Moved to another local authority",
        Disengaged = "disengaged" => "Family disengaged",
        Other = "other" => "Other",
    }
}

code_list! {
    /// Which statutory visit.
    VisitKind, field = "visit_kind", {
        ChildProtection = "child_protection" => "Child protection plan visit",
        ChildInNeed = "child_in_need" => "Child in need visit",
        LookedAfter = "looked_after" => "Looked-after child visit (CPPCR 2010 reg 28)",
        Adoption = "adoption" => "Visit after placement for adoption (AAR 2005 reg 36)",
        PathwayPlan = "pathway_plan" => "Care leaver / pathway plan visit",
        PrivateFostering = "private_fostering" => "Private fostering visit",
        Other = "other" => "Other visit",
    }
}

code_list! {
    /// Which pre-proceedings meeting.
    MeetingKind, field = "meeting_kind", {
        Initial = "initial" => "Initial pre-proceedings meeting",
        Review = "review" => "Review pre-proceedings meeting",
    }
}

code_list! {
    /// How the pre-proceedings (Public Law Outline) period ended (CIN census `PPOutcome`, 2025/26).
    PreProceedingsOutcome, field = "outcome", {
        SteppedDown = "stepped_down" => "Concerns reduced: stepped down",
        ProceedingsIssued = "proceedings_issued" => "Care proceedings issued",
        ChildAccommodated = "child_accommodated" => "Child accommodated by agreement (section 20)",
        MovedAway = "moved_away" => "Family moved out of the area",
        Other = "other" => "Other",
    }
}

code_list! {
    /// How care proceedings concluded.
    ProceedingsOutcome, field = "outcome", {
        FinalOrderMade = "final_order_made" => "A final order was made (record it with CourtOrderMade)",
        NoOrder = "no_order" => "No order made",
        Withdrawn = "withdrawn" => "Application withdrawn",
        Transferred = "transferred" => "Proceedings transferred to another authority",
    }
}

code_list! {
    /// A court order, or police protection (recorded alongside orders for Annex A list 7).
    CourtOrderKind, field = "order", {
        InterimCareOrder = "interim_care_order" => "Interim care order (CA89 s38)",
        CareOrder = "care_order" => "Care order (CA89 s31)",
        InterimSupervisionOrder = "interim_supervision_order" => "Interim supervision order",
        SupervisionOrder = "supervision_order" => "Supervision order",
        PlacementOrder = "placement_order" => "Placement order (ACA 2002 s21)",
        FreeingOrder = "freeing_order" => "Freeing order (before 30 December 2005)",
        AdoptionOrder = "adoption_order" => "Adoption order",
        SpecialGuardianshipOrder = "special_guardianship_order" => "Special guardianship order (CA89 s14A)",
        ChildArrangementsOrder = "child_arrangements_order" => "Child arrangements order (lives with), or residence order before 22 April 2014",
        ChildArrangementsContactOrder = "child_arrangements_contact_order" => "Child arrangements order (spends time with), or contact order",
        EmergencyProtectionOrder = "emergency_protection_order" => "Emergency protection order (CA89 s44)",
        PoliceProtection = "police_protection" => "Police protection (CA89 s46): not a court order",
        ChildAssessmentOrder = "child_assessment_order" => "Child assessment order (CA89 s43)",
        RecoveryOrder = "recovery_order" => "Recovery order (CA89 s50)",
        SecureAccommodationOrder = "secure_accommodation_order" => "Secure accommodation order (CA89 s25)",
        DeprivationOfLibertyOrder = "deprivation_of_liberty_order" => "Order authorising deprivation of liberty (SSDA903 DoLo from 2026/27)",
        EducationSupervisionOrder = "education_supervision_order" => "Education supervision order",
        Other = "other" => "Other order (describe it in detail)",
    }
}

code_list! {
    /// Why an order stopped having effect.
    OrderEndReason, field = "reason", {
        Expired = "expired" => "Expired",
        Discharged = "discharged" => "Discharged by the court",
        Revoked = "revoked" => "Revoked",
        Replaced = "replaced" => "Replaced by another order",
        ReachedAge = "reached_age" => "The child reached the age at which it ends",
        Other = "other" => "Other",
    }
}

code_list! {
    /// Which health assessment (CPPCR 2010 reg 7).
    HealthAssessmentKind, field = "assessment_kind", {
        Initial = "initial" => "Initial health assessment",
        Review = "review" => "Review health assessment",
    }
}

code_list! {
    /// How a contact was made.
    ContactMode, field = "mode", {
        InPerson = "in_person" => "In person",
        Video = "video" => "Video call",
        Phone = "phone" => "Telephone",
        Written = "written" => "Letter, email or message",
    }
}

code_list! {
    /// SSDA903 OC2 `CONVICTED`: convicted, or subject to a youth caution or conditional caution.
    ConvictionKind, field = "outcome", {
        Conviction = "conviction" => "Convicted of an offence",
        YouthCaution = "youth_caution" => "Youth caution (formerly final warning or reprimand)",
        YouthConditionalCaution = "youth_conditional_caution" => "Youth conditional caution",
    }
}

code_list! {
    /// SSDA903 OC2 `INTERVENTION_RECEIVED` / `INTERVENTION_OFFERED` (offered but refused).
    SubstanceMisuseIntervention, field = "intervention", {
        Received = "received" => "Received an intervention",
        OfferedAndRefused = "offered_and_refused" => "Offered an intervention but refused it",
        NotOffered = "not_offered" => "No intervention offered",
    }
}

code_list! {
    /// A worker's role towards the child (Annex A "Allocated Worker", SSDA903 SWEpisodes).
    WorkerRole, field = "role", {
        SocialWorker = "social_worker" => "Allocated social worker (SSDA903 SWEpisodes)",
        PersonalAdviser = "personal_adviser" => "Personal adviser (care leaver)",
        IndependentReviewingOfficer = "independent_reviewing_officer" => "Independent reviewing officer",
        EarlyHelpPractitioner = "early_help_practitioner" => "Early help key worker",
        SupervisingSocialWorker = "supervising_social_worker" => "Supervising social worker of the carers",
        Other = "other" => "Other worker",
    }
}

code_list! {
    /// Why an event was retracted.
    RetractionReason, field = "reason", {
        EnteredInError = "entered_in_error" => "Entered in error: it did not happen",
        WrongChild = "wrong_child" => "Recorded against the wrong child",
        Duplicate = "duplicate" => "Duplicate of another event",
        Other = "other" => "Other (explain in detail)",
    }
}

code_list! {
    /// Why the use of a fact is restricted: the four cases of UK GDPR Art. 18(1). While a restriction stands
    /// the fact is kept and stays readable (marked), but no return, measure, summary or policy uses it.
    RestrictionGrounds, field = "grounds", {
        AccuracyContested = "accuracy_contested" => "Its accuracy is contested, for a period enabling the authority to verify it (UK GDPR Art. 18(1)(a))",
        UnlawfulProcessing = "unlawful_processing" => "The processing is unlawful and the data subject asks for restriction instead of erasure (Art. 18(1)(b))",
        NeededForLegalClaims = "needed_for_legal_claims" => "No longer needed by the authority, but required by the data subject for legal claims (Art. 18(1)(c))",
        ObjectionPending = "objection_pending" => "The data subject has objected, pending verification of the authority's grounds (Art. 18(1)(d))",
    }
}

code_list! {
    /// A looked-after child's permanence plan (Ofsted Annex A list 8; wording UNCONFIRMED against the
    /// Ofsted guidance, which was not retrieved).
    PermanencePlan, field = "plan", {
        ReturnHome = "return_home" => "Return to family (parents or others with parental responsibility)",
        Adoption = "adoption" => "Adoption",
        SpecialGuardianship = "special_guardianship" => "Special guardianship order",
        ChildArrangementsOrder = "child_arrangements_order" => "Child arrangements order (lives with)",
        LongTermFostering = "long_term_fostering" => "Long-term fostering",
        ResidentialCare = "residential_care" => "Long-term residential care",
        SupportedLiving = "supported_living" => "Supported or independent living",
        Other = "other" => "Other",
    }
}

code_list! {
    /// Which identifier a source recorded that fails its check (`InvalidIdentifierRecorded`).
    IdentifierKind, field = "identifier", {
        Upn = "upn" => "Unique pupil number",
        FormerUpn = "former_upn" => "Former unique pupil number",
        NhsNumber = "nhs_number" => "NHS number",
        HomePostcode = "home_postcode" => "Postcode of the child's home",
        PlacementPostcode = "placement_postcode" => "Postcode of the placement",
    }
}
