//! Casework: who is allocated to the child (Annex A team and worker columns, SSDA903 SWEpisodes), and
//! transfers between authorities.

use serde::{Deserialize, Serialize};

use crate::codes::SocialWorkerChangeReason;
use crate::error::Problems;
use crate::time::Date;

use super::super::lists::WorkerRole;
use super::super::subjects::{DataSubject, ThirdPartyData, join, no_third_parties};
use super::super::values::{LaCode, Professional, ShortText};
use super::super::{Payload, code_on};

/// A worker was allocated to the child. An allocation in a role that already has a worker replaces that
/// worker from this date: for social workers, each allocation starts an SSDA903 social worker episode and
/// ends the previous one, with `change_reason` as its `SW_REASON`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct WorkerAllocated {
    pub role: WorkerRole,
    pub worker: Professional,
    /// The allocated team (Annex A "Allocated Team").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<ShortText>,
    /// Why the previous social worker changed (SSDA903 `SW_REASON`); social workers only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_reason: Option<SocialWorkerChangeReason>,
}

impl ThirdPartyData for WorkerAllocated {
    fn third_parties(&self, at: &str, out: &mut Vec<DataSubject>) {
        self.worker.third_parties(&join(at, "worker"), out);
    }
}

impl Payload for WorkerAllocated {
    fn validate(&self, p: &mut Problems) {
        if self.change_reason.is_some() && self.role != WorkerRole::SocialWorker {
            p.push(
                "change_reason",
                "is only recorded for social workers (SSDA903 SW_REASON)",
            );
        }
    }

    fn check_codes(&self, occurred: Date, p: &mut Problems) {
        if let Some(reason) = self.change_reason {
            code_on(p, "change_reason", reason, occurred);
        }
    }
}

/// The allocation in a role ended with nobody replacing the worker (case closed, or unallocated).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct WorkerAllocationEnded {
    pub role: WorkerRole,
    /// SSDA903 `SW_REASON`; social workers only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<SocialWorkerChangeReason>,
}

no_third_parties!(WorkerAllocationEnded);

impl Payload for WorkerAllocationEnded {
    fn validate(&self, p: &mut Problems) {
        if self.reason.is_some() && self.role != WorkerRole::SocialWorker {
            p.push(
                "reason",
                "is only recorded for social workers (SSDA903 SW_REASON)",
            );
        }
    }

    fn check_codes(&self, occurred: Date, p: &mut Problems) {
        if let Some(reason) = self.reason {
            code_on(p, "reason", reason, occurred);
        }
    }
}

/// Responsibility for the child transferred in from another authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct TransferredIn {
    /// The English authority's DfE code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_local_authority: Option<LaCode>,
    /// The authority's name, for one without a DfE code (Wales, Scotland, Northern Ireland, abroad).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_authority_name: Option<ShortText>,
}

no_third_parties!(TransferredIn);

impl Payload for TransferredIn {
    fn validate(&self, p: &mut Problems) {
        if self.from_local_authority.is_none() && self.from_authority_name.is_none() {
            p.push(
                "from_local_authority",
                "is required unless from_authority_name names the authority",
            );
        }
    }
}

/// Responsibility for the child transferred out to another authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, bincode::Encode, bincode::Decode)]
#[serde(deny_unknown_fields)]
pub struct TransferredOut {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_local_authority: Option<LaCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_authority_name: Option<ShortText>,
}

no_third_parties!(TransferredOut);

impl Payload for TransferredOut {
    fn validate(&self, p: &mut Problems) {
        if self.to_local_authority.is_none() && self.to_authority_name.is_none() {
            p.push(
                "to_local_authority",
                "is required unless to_authority_name names the authority",
            );
        }
    }
}
