//! Trust policies (c2sp.org/tlog-policy): which logs and witnesses a verifier trusts, and how many
//! witnesses must have cosigned a checkpoint before it is believed.
//!
//! ```text
//! log journey.council.example/log/01J9ZK3M7Q4F+1a2b3c4d+AbC…
//! witness partnership journey-witness.partnership.example+5e6f7a8b+BdE…
//! witness regulator witness.regulator.example/journey+9c0d1e2f+BfG…
//! group independent 2 partnership regulator
//! quorum independent
//! ```
//!
//! Lines: `log <vkey> [<url>]`, `witness <name> <vkey> [<url>]`, `group <name> <k|all|any> <member>…`,
//! `quorum <name|none>` (exactly one); items separated by spaces or tabs; blank lines and `#` comments
//! ignored. A group or quorum names only witnesses and groups defined on earlier lines, each name is a group
//! member at most once in the file, and no public key is listed twice among the logs or among the
//! witnesses. Log keys are Ed25519 note keys (`0x01`) named after their origin; witness keys are
//! cosignature/v1 keys (`0x04`). The file is read as UTF-8.

use std::fmt;

use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::error::{Error, Result};
use crate::note::{KeyName, KeyType, VerifierKey};

/// A log the policy trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyLog {
    pub key: VerifierKey,
    pub url: Option<String>,
}

/// A witness the policy trusts, under the name the policy gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyWitness {
    pub name: String,
    pub key: VerifierKey,
    pub url: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Member {
    Witness(usize),
    Group(usize),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Group {
    name: String,
    threshold: usize,
    members: Vec<Member>,
}

/// A parsed policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<Group>,
    /// `None` for `quorum none`.
    quorum: Option<Member>,
}

/// The name that stands for "no cosignature needed", and may not name anything else.
const NONE: &str = "none";

impl Policy {
    pub fn parse(text: &str) -> Result<Policy> {
        let mut logs: Vec<PolicyLog> = Vec::new();
        let mut witnesses: Vec<PolicyWitness> = Vec::new();
        let mut groups: Vec<Group> = Vec::new();
        let mut quorum: Option<Option<Member>> = None;
        let mut used_as_member: Vec<Member> = Vec::new();
        for (number, line) in text.split('\n').enumerate() {
            let field = format!("policy line {}", number + 1);
            if let Some(c) = line.chars().find(|&c| c != '\t' && (c < ' ' || c == '\u{7f}')) {
                return Err(Error::malformed(
                    field,
                    format!("control character {c:?}; only tab and newline are allowed"),
                ));
            }
            let words: Vec<&str> = line.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
            let Some((&keyword, args)) = words.split_first() else {
                continue;
            };
            if keyword.starts_with('#') {
                continue;
            }
            let find = |name: &str| -> Option<Member> {
                witnesses
                    .iter()
                    .position(|w| w.name == name)
                    .map(Member::Witness)
                    .or_else(|| groups.iter().position(|g| g.name == name).map(Member::Group))
            };
            let check_new_name = |name: &str| -> Result<()> {
                if name == NONE {
                    return Err(Error::malformed(&field, "`none` is reserved for `quorum none`"));
                }
                if find(name).is_some() {
                    return Err(Error::malformed(&field, format!("{name:?} is already defined")));
                }
                Ok(())
            };
            match (keyword, args) {
                ("log", [vkey, rest @ ..]) if rest.len() <= 1 => {
                    let key = parse_key(&field, vkey, KeyType::Ed25519)?;
                    if logs.iter().any(|l| l.key.public_key() == key.public_key()) {
                        return Err(Error::malformed(
                            &field,
                            "this log's public key is already listed",
                        ));
                    }
                    logs.push(PolicyLog {
                        key,
                        url: rest.first().map(|u| u.to_string()),
                    });
                }
                ("witness", [name, vkey, rest @ ..]) if rest.len() <= 1 => {
                    check_new_name(name)?;
                    let key = parse_key(&field, vkey, KeyType::CosignatureV1)?;
                    if witnesses.iter().any(|w| w.key.public_key() == key.public_key()) {
                        return Err(Error::malformed(
                            &field,
                            "this witness's public key is already listed",
                        ));
                    }
                    witnesses.push(PolicyWitness {
                        name: name.to_string(),
                        key,
                        url: rest.first().map(|u| u.to_string()),
                    });
                }
                ("group", [name, threshold, members @ ..]) if !members.is_empty() => {
                    check_new_name(name)?;
                    let mut resolved = Vec::with_capacity(members.len());
                    for member in members {
                        let Some(found) = find(member) else {
                            return Err(Error::malformed(
                                &field,
                                format!("{member:?} is not a witness or group defined above"),
                            ));
                        };
                        if used_as_member.contains(&found) {
                            return Err(Error::malformed(
                                &field,
                                format!("{member:?} is already a group member; a name may be one only once"),
                            ));
                        }
                        used_as_member.push(found);
                        resolved.push(found);
                    }
                    let threshold = match *threshold {
                        "all" => resolved.len(),
                        "any" => 1,
                        k => {
                            let k = crate::wire::parse_decimal(&format!("{field} threshold"), k)?;
                            if k == 0 || k > resolved.len() as u64 {
                                return Err(Error::malformed(
                                    &field,
                                    format!(
                                        "threshold {k} is not between 1 and the {} members",
                                        resolved.len()
                                    ),
                                ));
                            }
                            k as usize
                        }
                    };
                    groups.push(Group {
                        name: name.to_string(),
                        threshold,
                        members: resolved,
                    });
                }
                ("quorum", [name]) => {
                    if quorum.is_some() {
                        return Err(Error::malformed(&field, "a policy has exactly one quorum line"));
                    }
                    quorum = Some(if *name == NONE {
                        None
                    } else {
                        Some(find(name).ok_or_else(|| {
                            Error::malformed(
                                &field,
                                format!("{name:?} is not a witness or group defined above"),
                            )
                        })?)
                    });
                }
                ("log" | "witness" | "group" | "quorum", _) => {
                    return Err(Error::malformed(
                        field,
                        format!(
                            "expected {}",
                            match keyword {
                                "log" => "log <vkey> [<url>]",
                                "witness" => "witness <name> <vkey> [<url>]",
                                "group" => "group <name> <k|all|any> <member>...",
                                _ => "quorum <name|none>",
                            }
                        ),
                    ));
                }
                (other, _) => {
                    return Err(Error::malformed(
                        field,
                        format!("unknown keyword {other:?} (log, witness, group, quorum)"),
                    ));
                }
            }
        }
        let Some(quorum) = quorum else {
            return Err(Error::malformed("policy", "has no quorum line"));
        };
        Ok(Policy {
            logs,
            witnesses,
            groups,
            quorum,
        })
    }

    pub fn logs(&self) -> &[PolicyLog] {
        &self.logs
    }

    pub fn witnesses(&self) -> &[PolicyWitness] {
        &self.witnesses
    }

    /// Whether the witnesses at these indexes (of [`Policy::witnesses`]) satisfy the quorum.
    fn quorum_met(&self, cosigned: &[usize]) -> bool {
        let mut group_met = vec![false; self.groups.len()];
        let met = |member: &Member, group_met: &[bool]| match member {
            Member::Witness(i) => cosigned.contains(i),
            Member::Group(i) => group_met[*i],
        };
        // Groups name only earlier groups, so one pass in definition order settles them all.
        for (i, group) in self.groups.iter().enumerate() {
            let count = group.members.iter().filter(|m| met(m, &group_met)).count();
            group_met[i] = count >= group.threshold;
        }
        self.quorum.as_ref().is_none_or(|m| met(m, &group_met))
    }

    fn quorum_name(&self) -> &str {
        match self.quorum {
            None => NONE,
            Some(Member::Witness(i)) => &self.witnesses[i].name,
            Some(Member::Group(i)) => &self.groups[i].name,
        }
    }

    /// A policy of one log and named witnesses, `quorum` of whom must cosign (0: none): what
    /// `--log-key`, `--witness` and `--quorum` options amount to.
    pub fn from_keys(
        log: VerifierKey,
        witnesses: Vec<(String, VerifierKey)>,
        quorum: usize,
    ) -> Result<Policy> {
        let mut text = format!("log {log}\n");
        for (name, key) in &witnesses {
            text.push_str(&format!("witness {name} {key}\n"));
        }
        if quorum == 0 {
            text.push_str("quorum none\n");
        } else {
            let names: Vec<&str> = witnesses.iter().map(|(name, _)| name.as_str()).collect();
            text.push_str(&format!(
                "group quorum {quorum} {}\nquorum quorum\n",
                names.join(" ")
            ));
        }
        Policy::parse(&text)
    }
}

/// The policy in canonical form: logs, witnesses, groups in definition order, the quorum; one space between
/// items; thresholds written `all` when every member is needed, `any` when one is.
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = |url: &Option<String>| url.as_ref().map(|u| format!(" {u}")).unwrap_or_default();
        for log in &self.logs {
            writeln!(f, "log {}{}", log.key, url(&log.url))?;
        }
        for witness in &self.witnesses {
            writeln!(f, "witness {} {}{}", witness.name, witness.key, url(&witness.url))?;
        }
        let name = |member: &Member| match *member {
            Member::Witness(i) => self.witnesses[i].name.as_str(),
            Member::Group(i) => self.groups[i].name.as_str(),
        };
        for group in &self.groups {
            write!(f, "group {} ", group.name)?;
            match group.threshold {
                k if k == group.members.len() => f.write_str("all")?,
                1 => f.write_str("any")?,
                k => write!(f, "{k}")?,
            }
            for member in &group.members {
                write!(f, " {}", name(member))?;
            }
            writeln!(f)?;
        }
        writeln!(f, "quorum {}", self.quorum.as_ref().map_or(NONE, name))
    }
}

fn parse_key(field: &str, vkey: &str, key_type: KeyType) -> Result<VerifierKey> {
    let key = VerifierKey::parse(vkey).map_err(|e| Error::malformed(field, e.to_string()))?;
    if key.key_type() != key_type {
        return Err(Error::malformed(
            field,
            format!(
                "{} is a key of type 0x{:02x}; here type 0x{:02x} is needed",
                key.name(),
                key.key_type().byte(),
                key_type.byte()
            ),
        ));
    }
    Ok(key)
}

/// A witness's verified cosignature on a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessCosignature {
    /// The witness's name in the policy.
    pub witness: String,
    /// The name its key signs under.
    pub key_name: KeyName,
    /// When it cosigned (POSIX seconds). The earliest is an independent bound on when the tree existed.
    pub timestamp: u64,
}

/// A checkpoint a policy accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    pub checkpoint: Checkpoint,
    /// The policy's log whose key signed it.
    pub log: KeyName,
    /// Each configured witness that cosigned, once.
    pub cosignatures: Vec<WitnessCosignature>,
}

/// Verifies a checkpoint under a policy: a log of the policy, named after the checkpoint's origin, signed
/// it; every cosignature line of a configured witness verifies; and the distinct witnesses that cosigned
/// satisfy the quorum (a witness counts once however many lines it added).
pub fn verify_checkpoint_with_policy(
    signed: &SignedCheckpoint,
    policy: &Policy,
) -> Result<VerifiedCheckpoint> {
    let log_keys: Vec<VerifierKey> = policy.logs.iter().map(|l| l.key.clone()).collect();
    let log = signed.verify_any(&log_keys)?;
    let witness_keys: Vec<VerifierKey> = policy.witnesses.iter().map(|w| w.key.clone()).collect();
    let verified = signed.verify_cosignatures(&witness_keys)?;
    let cosigned: Vec<usize> = verified.iter().map(|v| v.key).collect();
    let checkpoint = signed.checkpoint();
    if !policy.quorum_met(&cosigned) {
        let names: Vec<&str> = cosigned
            .iter()
            .map(|&i| policy.witnesses[i].name.as_str())
            .collect();
        return Err(Error::QuorumNotMet {
            detail: format!(
                "checkpoint {} at size {} is cosigned by [{}], which does not satisfy {:?}",
                checkpoint.origin,
                checkpoint.size,
                names.join(", "),
                policy.quorum_name()
            ),
        });
    }
    Ok(VerifiedCheckpoint {
        checkpoint: checkpoint.clone(),
        log: policy.logs[log].key.name().clone(),
        cosignatures: verified
            .iter()
            .map(|v| WitnessCosignature {
                witness: policy.witnesses[v.key].name.clone(),
                key_name: policy.witnesses[v.key].key.name().clone(),
                timestamp: v.timestamp.expect("a cosignature key gives a timestamp"),
            })
            .collect(),
    })
}
