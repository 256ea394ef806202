//! The working-day calendar the host gives every policy: England and Wales bank holidays from versioned data
//! in the repository (`plugins/data/bank-holidays-england-and-wales.json`), so that policies never need the
//! network and a replay years later uses the same days.
//!
//! The data's `version` travels in every input (and so into the input hash). Releasing new holiday data is
//! a new file version: never edit a released one in place, or a replay of an old decision would count
//! different days.

use std::sync::OnceLock;

use journey_core::Date;
use serde::{Deserialize, Serialize};

use crate::PluginError;

const ENGLAND_AND_WALES: &str = include_str!("../data/bank-holidays-england-and-wales.json");

/// Bank holidays for working-day arithmetic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calendar {
    /// The data's version ("2026.1").
    pub version: String,
    pub covers_from: Date,
    pub covers_to: Date,
    /// Ascending, weekdays only (a weekend holiday's substitute day is listed instead).
    pub bank_holidays: Vec<Date>,
}

#[derive(Deserialize)]
struct HolidayFile {
    version: String,
    covers_from: Date,
    covers_to: Date,
    holidays: Vec<Holiday>,
}

#[derive(Deserialize)]
struct Holiday {
    date: Date,
    #[allow(dead_code)] // documentation for people reading the file
    name: String,
}

impl Calendar {
    /// England and Wales, from the data shipped with this build.
    pub fn england_and_wales() -> &'static Calendar {
        static CALENDAR: OnceLock<Calendar> = OnceLock::new();
        CALENDAR.get_or_init(|| {
            Calendar::from_json(ENGLAND_AND_WALES).expect("the shipped bank-holiday data is valid (tested)")
        })
    }

    /// Reads holiday data in the shipped file's format, checking that it is sorted, unique, within its
    /// coverage and on weekdays only.
    pub fn from_json(text: &str) -> Result<Calendar, PluginError> {
        let file: HolidayFile = serde_json::from_str(text)
            .map_err(|e| PluginError::InvalidInput(format!("bank-holiday data: {e}")))?;
        let bank_holidays: Vec<Date> = file.holidays.iter().map(|h| h.date).collect();
        let bad = |why: String| Err(PluginError::InvalidInput(format!("bank-holiday data: {why}")));
        if let Some(w) = bank_holidays.windows(2).find(|w| w[0] >= w[1]) {
            return bad(format!(
                "dates must be ascending and unique ({} then {})",
                w[0], w[1]
            ));
        }
        for d in &bank_holidays {
            if *d < file.covers_from || *d > file.covers_to {
                return bad(format!(
                    "{d} is outside {} to {}",
                    file.covers_from, file.covers_to
                ));
            }
            if d.civil().weekday().to_monday_zero_offset() >= 5 {
                return bad(format!("{d} is a weekend day: list the substitute day instead"));
            }
        }
        Ok(Calendar {
            version: file.version,
            covers_from: file.covers_from,
            covers_to: file.covers_to,
            bank_holidays,
        })
    }
}
