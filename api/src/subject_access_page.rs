//! The subject access bundle as a print-ready document (HTML, A4): a front sheet, the story in the order it
//! happened, and the list of what was withheld and why. Written for the person it is about, who may read it
//! with a screen reader or print it: headings in order, tables with headers, text that never relies on
//! colour, contrast above WCAG 2.2 AA.

use journey_core::view::subject_access::{AccessSubject, NarrativeEntry};
use maud::{DOCTYPE, Markup, html};

use crate::routes::subject_access::SubjectAccessBundle;

const STYLE: &str = r#"
:root { color: #1a1a1a; background: #fff; font-family: "Helvetica Neue", Arial, sans-serif; line-height: 1.45; }
body { margin: 0 auto; max-width: 52rem; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .5rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .75rem; border-bottom: 2px solid #1a1a1a; }
h3 { font-size: 1.05rem; margin: 0 0 .25rem; }
dl.front { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dl.front dt { font-weight: bold; }
dl.front dd { margin: 0; }
article { border-top: 1px solid #595959; padding: .75rem 0; break-inside: avoid; }
.when { font-weight: bold; }
.who { color: #3d3d3d; font-size: .95rem; margin: .15rem 0 .4rem; }
.note { font-style: italic; margin: .2rem 0; }
table { border-collapse: collapse; width: 100%; font-size: .95rem; }
th, td { text-align: left; vertical-align: top; padding: .2rem .5rem .2rem 0; border-bottom: 1px solid #d0d0d0; }
th { font-weight: 600; width: 35%; }
.withheld { font-weight: bold; }
.draft { border: 3px solid #1a1a1a; padding: .5rem; font-weight: bold; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
footer { margin-top: 2rem; font-size: .9rem; }
@page { size: A4; margin: 18mm 16mm; }
@media print { body { max-width: none; padding: 0; } a { color: inherit; text-decoration: none; } }
"#;

fn subject_words(subject: &AccessSubject) -> String {
    match subject {
        AccessSubject::Child { child_id } => format!("The record of child {child_id}"),
        AccessSubject::Person { person_id } => {
            format!("What the records hold about person {person_id}")
        }
    }
}

/// The document.
pub fn render(document: &SubjectAccessBundle) -> String {
    let made = &document.made_from;
    let page = html! {
        (DOCTYPE)
        html lang="en-GB" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Subject access: " (document.request_id) }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                main {
                    h1 { "Your records: subject access request " (document.request_id) }
                    @if document.status == "draft" {
                        p.draft { "Draft for review: not yet released." }
                    }
                    dl.front {
                        dt { "About" } dd { (subject_words(&document.subject)) }
                        dt { "Request received" } dd { (document.received_on) }
                        dt { "Answer due by" } dd { (document.due_on) }
                        dt { "Made from the record as it stood at" } dd { (made.known_at) }
                        dt { "Log checkpoint" } dd {
                            "the log's first " (made.log_size) " records, head hash " code { (made.log_hash) }
                            @if let Some(size) = made.checkpoint_size {
                                "; proven by the signed checkpoint of size " (size)
                            }
                        }
                        dt { "Policy versions in force" } dd {
                            @if made.policy_versions.is_empty() { "none" }
                            @else { (made.policy_versions.join(", ")) }
                        }
                        dt { "Made by" } dd { (made.made_by) }
                        dt { "Entries" } dd { (document.bundle.entries.len()) }
                        dt { "Redactions" } dd { (document.bundle.redactions.len()) }
                    }
                    p {
                        "This is what the record says, in the order things happened. Each entry says who recorded "
                        "it and when: some things were recorded days or weeks after they happened. Where a "
                        "record was corrected, the corrected version is shown and the correction noted. "
                        "Information about other people has been withheld where the law requires it; each "
                        "place is marked " strong { "[withheld]" } " and listed at the end with the reason."
                    }
                    h2 { "Your story" }
                    @for entry in &document.bundle.entries { (entry_markup(entry)) }
                    h2 { "What was withheld, and why" }
                    @if document.bundle.redactions.is_empty() {
                        p { "Nothing was withheld." }
                    } @else {
                        table {
                            caption { "Each redaction, with the entry, the part withheld and the rule applied" }
                            thead { tr { th scope="col" { "Entry" } th scope="col" { "Part withheld" } th scope="col" { "Rule" } } }
                            tbody {
                                @for r in &document.bundle.redactions {
                                    tr { td { (r.event_id) } td { (r.field) } td { (r.citation) } }
                                }
                            }
                        }
                    }
                    footer {
                        p {
                            "You may ask the council's data protection officer about anything withheld, and complain "
                            "to the Information Commissioner's Office if you are not satisfied."
                        }
                    }
                }
            }
        }
    };
    page.into_string()
}

fn entry_markup(entry: &NarrativeEntry) -> Markup {
    html! {
        article id=(format!("entry-{}", entry.event_id)) {
            h3 {
                span.when { (entry.occurred_at) } ": "
                @if entry.withheld { span.withheld { "[withheld]" } } @else { (entry.summary) }
            }
            p.who {
                "Recorded " (entry.recorded_at) " by " (entry.recorded_by) " (" (entry.agency) ", " (entry.system) ")"
                " — entry " (entry.event_id)
            }
            @if entry.withheld {
                p.withheld { "This entry has been withheld (see the list at the end)." }
            }
            @for note in &entry.notes { p.note { (note) } }
            @if !entry.details.is_empty() {
                table {
                    caption.visually-hidden { "Details of entry " (entry.event_id) }
                    tbody {
                        @for d in &entry.details {
                            tr { th scope="row" { (d.field) } td { (d.value) } }
                        }
                    }
                }
            }
        }
    }
}
