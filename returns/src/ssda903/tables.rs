//! The SSDA903 tables: their names, files and columns by collection year, and the in-memory form both the
//! export and the import use.
//!
//! Columns as the DfE validator (`csc-validator-be-903`, `lac_validator/config.py`) names them; the
//! validator recognises a CSV file by its exact set of columns, so the order here is the guide's order.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::Path;

use serde::Serialize;

use journey_core::codes::CollectionYear;
use journey_core::time::Date;

/// One SSDA903 table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum TableKind {
    Header,
    Episodes,
    Reviews,
    Uasc,
    Oc2,
    Oc3,
    Ad1,
    PlacedAdoption,
    PrevPerm,
    Missing,
    SwEpisodes,
}

impl TableKind {
    pub const ALL: [TableKind; 11] = [
        TableKind::Header,
        TableKind::Episodes,
        TableKind::Reviews,
        TableKind::Uasc,
        TableKind::Oc2,
        TableKind::Oc3,
        TableKind::Ad1,
        TableKind::PlacedAdoption,
        TableKind::PrevPerm,
        TableKind::Missing,
        TableKind::SwEpisodes,
    ];

    /// The table's name in the DfE guide and the validator.
    pub const fn name(self) -> &'static str {
        match self {
            TableKind::Header => "Header",
            TableKind::Episodes => "Episodes",
            TableKind::Reviews => "Reviews",
            TableKind::Uasc => "UASC",
            TableKind::Oc2 => "OC2",
            TableKind::Oc3 => "OC3",
            TableKind::Ad1 => "AD1",
            TableKind::PlacedAdoption => "PlacedAdoption",
            TableKind::PrevPerm => "PrevPerm",
            TableKind::Missing => "Missing",
            TableKind::SwEpisodes => "SWEpisodes",
        }
    }

    /// The file the table is written to.
    pub const fn file_name(self) -> &'static str {
        match self {
            TableKind::Header => "header.csv",
            TableKind::Episodes => "episodes.csv",
            TableKind::Reviews => "reviews.csv",
            TableKind::Uasc => "uasc.csv",
            TableKind::Oc2 => "oc2.csv",
            TableKind::Oc3 => "oc3.csv",
            TableKind::Ad1 => "ad1.csv",
            TableKind::PlacedAdoption => "placed_for_adoption.csv",
            TableKind::PrevPerm => "previous_permanence.csv",
            TableKind::Missing => "missing.csv",
            TableKind::SwEpisodes => "sw_episodes.csv",
        }
    }

    /// Whether the table is part of the return in `year` (social worker episodes from 2023/24).
    pub fn in_year(self, year: CollectionYear) -> bool {
        match self {
            TableKind::SwEpisodes => year >= CollectionYear::from_label_const("2023/24"),
            _ => true,
        }
    }

    /// The table's columns (the same in every supported year; codes within them change by year).
    pub const fn columns(self) -> &'static [&'static str] {
        match self {
            TableKind::Header => &["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"],
            TableKind::Episodes => &[
                "CHILD",
                "DECOM",
                "RNE",
                "LS",
                "CIN",
                "PLACE",
                "PLACE_PROVIDER",
                "DEC",
                "REC",
                "REASON_PLACE_CHANGE",
                "HOME_POST",
                "PL_POST",
                "URN",
            ],
            TableKind::Reviews => &["CHILD", "DOB", "REVIEW", "REVIEW_CODE"],
            TableKind::Uasc => &["CHILD", "SEX", "DOB", "DUC"],
            TableKind::Oc2 => &[
                "CHILD",
                "DOB",
                "SDQ_SCORE",
                "SDQ_REASON",
                "CONVICTED",
                "HEALTH_CHECK",
                "IMMUNISATIONS",
                "TEETH_CHECK",
                "HEALTH_ASSESSMENT",
                "SUBSTANCE_MISUSE",
                "INTERVENTION_RECEIVED",
                "INTERVENTION_OFFERED",
            ],
            TableKind::Oc3 => &["CHILD", "DOB", "IN_TOUCH", "ACTIV", "ACCOM"],
            TableKind::Ad1 => &[
                "CHILD",
                "DOB",
                "DATE_INT",
                "DATE_MATCH",
                "FOSTER_CARE",
                "NB_ADOPTR",
                "SEX_ADOPTR",
                "LS_ADOPTR",
            ],
            TableKind::PlacedAdoption => &[
                "CHILD",
                "DOB",
                "DATE_PLACED",
                "DATE_PLACED_CEASED",
                "REASON_PLACED_CEASED",
            ],
            TableKind::PrevPerm => &["CHILD", "DOB", "PREV_PERM", "LA_PERM", "DATE_PERM"],
            TableKind::Missing => &["CHILD", "DOB", "MISSING", "MIS_START", "MIS_END"],
            TableKind::SwEpisodes => &["CHILD", "DOB", "SW_ID", "SW_DECOM", "SW_DEC", "SW_REASON"],
        }
    }

    /// The table whose file is named `file_name` (the last path component), if any.
    pub fn from_file_name(file_name: &str) -> Option<TableKind> {
        TableKind::ALL.into_iter().find(|t| t.file_name() == file_name)
    }

    /// The table with exactly these columns (in any order), as the validator recognises files.
    pub fn from_columns(columns: &[String]) -> Option<TableKind> {
        TableKind::ALL.into_iter().find(|t| {
            t.columns().len() == columns.len() && t.columns().iter().all(|c| columns.iter().any(|h| h == c))
        })
    }
}

impl fmt::Display for TableKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One table: rows of cells in the order of [`TableKind::columns`]; an empty cell is an empty string.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Table {
    pub rows: Vec<Vec<String>>,
}

/// The SSDA903 return of one collection year.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tables {
    pub year: CollectionYear,
    /// Every table of the year's return, possibly empty.
    pub tables: BTreeMap<TableKind, Table>,
}

impl Tables {
    /// An empty return with every table of `year`.
    pub fn empty(year: CollectionYear) -> Tables {
        Tables {
            year,
            tables: TableKind::ALL
                .into_iter()
                .filter(|t| t.in_year(year))
                .map(|t| (t, Table::default()))
                .collect(),
        }
    }

    pub fn table(&self, kind: TableKind) -> &[Vec<String>] {
        self.tables.get(&kind).map_or(&[], |t| &t.rows)
    }

    /// Total rows over every table.
    pub fn row_count(&self) -> usize {
        self.tables.values().map(|t| t.rows.len()).sum()
    }

    /// Sorts every table's rows (by child, then by the columns in order), so two returns with the same
    /// facts compare equal whatever order they were built in.
    pub fn sort(&mut self) {
        for t in self.tables.values_mut() {
            t.rows.sort_by(|a, b| compare_rows(a, b));
        }
    }

    /// Writes one CSV file per table into `dir` (created if missing), header row first.
    pub fn write_csv(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for kind in self.tables.keys() {
            std::fs::write(dir.join(kind.file_name()), self.csv(*kind)?)?;
        }
        Ok(())
    }

    /// One table as CSV, header row first (empty but for the header when the year has no such table).
    pub fn csv(&self, kind: TableKind) -> io::Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(kind.columns())?;
        for row in self.table(kind) {
            w.write_record(row)?;
        }
        w.into_inner().map_err(|e| e.into_error())
    }
}

/// Rows compare by child, then dates compare as dates (not as dd/mm/yyyy text), then text.
fn compare_rows(a: &[String], b: &[String]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = match (parse_date(x), parse_date(y)) {
            (Some(dx), Some(dy)) => dx.cmp(&dy),
            _ => x.cmp(y),
        };
        if o.is_ne() {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// `dd/mm/yyyy`, the SSDA903 date format.
pub fn format_date(d: Date) -> String {
    format!("{:02}/{:02}/{:04}", d.day(), d.month(), d.year())
}

/// Parses `dd/mm/yyyy`.
pub fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[2] != b'/' || b[5] != b'/' {
        return None;
    }
    let day: i8 = s.get(0..2)?.parse().ok()?;
    let month: i8 = s.get(3..5)?.parse().ok()?;
    let year: i16 = s.get(6..10)?.parse().ok()?;
    Date::new(year, month, day).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_sort_as_dates() {
        let d = Date::new(2024, 3, 9).unwrap();
        assert_eq!(format_date(d), "09/03/2024");
        assert_eq!(parse_date("09/03/2024"), Some(d));
        assert_eq!(parse_date("31/02/2024"), None);
        assert_eq!(parse_date("2024-03-09"), None);
        let a = vec!["C1".to_string(), "02/01/2024".to_string()];
        let b = vec!["C1".to_string(), "01/02/2023".to_string()];
        assert!(compare_rows(&b, &a).is_lt());
    }

    #[test]
    fn tables_are_recognised_by_file_and_by_columns() {
        for t in TableKind::ALL {
            assert_eq!(TableKind::from_file_name(t.file_name()), Some(t));
            let mut cols: Vec<String> = t.columns().iter().map(|c| c.to_string()).collect();
            cols.reverse();
            assert_eq!(TableKind::from_columns(&cols), Some(t));
        }
        let y = CollectionYear::parse("2022/23").unwrap();
        assert!(!Tables::empty(y).tables.contains_key(&TableKind::SwEpisodes));
        let y = CollectionYear::parse("2023/24").unwrap();
        assert!(Tables::empty(y).tables.contains_key(&TableKind::SwEpisodes));
    }
}
