//! The reference policies built in-tree (levels of need, step-up and step-down, care-leaver entitlements,
//! statutory timescales), embedded in this library so that `journey serve` can deploy and activate them on a
//! fresh data directory with nothing else on disk; and their earlier versions, frozen as shipped in
//! `plugins/reference/`, so that every data directory, new or upgraded, holds the same versions with the
//! same bytes (an earlier version's recorded decisions replay, and an investigator can pin it).
//!
//! Deploying is idempotent: on every start the same bytes, parameters and examples are a retry of the same
//! deployment. A reference policy changed without a new version number is refused as a version conflict
//! (versions are immutable), which is reported for that policy without stopping the others. Of the versions
//! of one policy, all effective from [`EFFECTIVE_FROM`], the highest is in force.

use journey_core::{Date, PrincipalId};

use crate::PluginError;
use crate::guests::{REFERENCE_POLICIES, ReferencePolicy};
use crate::registry::{DeployRequest, ExampleCase, PolicyVersion, Registry, VersionStatus};

/// The first date the reference policies judge: the start of the bank-holiday data they count working days
/// with.
pub const EFFECTIVE_FROM: &str = "2000-01-01";

/// Who the reference policies are recorded as written by.
pub const AUTHOR: &str = "Journey reference policies (plugins/guests/policies)";

/// The deployment request for one embedded reference policy.
pub fn deploy_request(policy: &ReferencePolicy) -> Result<DeployRequest, PluginError> {
    let bad = |field: String, rule: String| PluginError::BadRequest { field, rule };
    let parameters = serde_json::from_str(policy.parameters)
        .map_err(|e| bad(format!("{}/parameters.json", policy.dir), e.to_string()))?;
    let examples = policy
        .examples
        .iter()
        .map(|(file, text)| {
            serde_json::from_str::<ExampleCase>(text)
                .map_err(|e| bad(format!("{}/examples/{file}", policy.dir), e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DeployRequest {
        component: policy.component.to_vec(),
        parameters,
        effective_from: Date::parse_field("effective_from", EFFECTIVE_FROM).expect("a valid date"),
        effective_to: None,
        author: AUTHOR.into(),
        examples,
    })
}

/// Deploys and activates every reference policy, the frozen earlier versions first, returning each one's
/// outcome in order.
pub async fn deploy_all(
    registry: &Registry,
    by: &PrincipalId,
) -> Vec<(&'static str, Result<PolicyVersion, PluginError>)> {
    let mut outcomes = Vec::with_capacity(REFERENCE_POLICIES.len());
    for policy in REFERENCE_POLICIES {
        outcomes.push((policy.dir, deploy_one(registry, policy, by).await));
    }
    outcomes
}

async fn deploy_one(
    registry: &Registry,
    policy: &ReferencePolicy,
    by: &PrincipalId,
) -> Result<PolicyVersion, PluginError> {
    let deployed = registry.deploy(deploy_request(policy)?, by).await?;
    if deployed.status == VersionStatus::Deployed {
        let (active, _) = registry
            .activate(&deployed.deployed.name, &deployed.deployed.version, by)
            .await?;
        return Ok(active);
    }
    Ok(deployed)
}
