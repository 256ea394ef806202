//! Working days in England: weekends and England & Wales bank holidays excluded.
//!
//! The generator needs working days to put statutory timescales (45 working days for an assessment, 15 for
//! an initial conference, 20 for a first looked-after review) on the right side of their deadlines in the
//! configured proportions. The holidays are computed (fixed dates with their substitute days, Easter, the
//! May and August Mondays) plus the one-off holidays since 2011, so any year works without a table.

use std::collections::HashSet;

use jiff::civil::Weekday;

use journey_core::time::Date;

/// A working-day calendar for England, covering the years it was built for.
#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    holidays: HashSet<Date>,
}

impl Calendar {
    /// Holidays for every year from `first_year` to `last_year` inclusive.
    pub(crate) fn new(first_year: i16, last_year: i16) -> Calendar {
        let mut holidays = HashSet::new();
        for y in first_year..=last_year {
            holidays.extend(bank_holidays(y));
        }
        Calendar { holidays }
    }

    pub(crate) fn is_working_day(&self, d: Date) -> bool {
        !matches!(d.civil().weekday(), Weekday::Saturday | Weekday::Sunday) && !self.holidays.contains(&d)
    }

    /// The first working day on or after `d`.
    pub(crate) fn on_or_after(&self, mut d: Date) -> Date {
        while !self.is_working_day(d) {
            d = d.add_days(1);
        }
        d
    }

    /// The `n`th working day after `d` (`n` = 0 gives the first working day on or after `d`). This is the
    /// exclusive count: the deadline "within 15 working days of" a meeting on `d` is `add(d, 15)`.
    pub(crate) fn add(&self, d: Date, n: u32) -> Date {
        let mut d = self.on_or_after(d);
        for _ in 0..n {
            d = self.on_or_after(d.add_days(1));
        }
        d
    }

    /// Working days from `from` to `to`, counting `to` but not `from` (0 when `to <= from`).
    pub(crate) fn between(&self, from: Date, to: Date) -> u32 {
        let mut n = 0;
        let mut d = from;
        while d < to {
            d = d.add_days(1);
            if self.is_working_day(d) {
                n += 1;
            }
        }
        n
    }
}

fn date(y: i16, m: i8, d: i8) -> Date {
    Date::new(y, m, d).expect("a real date")
}

/// Monday on or after `d`, for a holiday falling at a weekend.
fn substitute(d: Date) -> Date {
    match d.civil().weekday() {
        Weekday::Saturday => d.add_days(2),
        Weekday::Sunday => d.add_days(1),
        _ => d,
    }
}

/// Easter Sunday (anonymous Gregorian algorithm).
fn easter(y: i16) -> Date {
    let y = i32::from(y);
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    date(y as i16, month as i8, day as i8)
}

fn first_monday(y: i16, m: i8) -> Date {
    let mut d = date(y, m, 1);
    while d.civil().weekday() != Weekday::Monday {
        d = d.add_days(1);
    }
    d
}

fn last_monday(y: i16, m: i8) -> Date {
    let mut d: Date = date(y, m, 1).civil().last_of_month().into();
    while d.civil().weekday() != Weekday::Monday {
        d = d.add_days(-1);
    }
    d
}

/// England & Wales bank holidays of year `y`.
fn bank_holidays(y: i16) -> Vec<Date> {
    let mut out = Vec::with_capacity(10);
    out.push(substitute(date(y, 1, 1)));
    let e = easter(y);
    out.push(e.add_days(-2));
    out.push(e.add_days(1));
    // Early May: moved to Friday 8 May in 2020 (VE Day 75).
    out.push(if y == 2020 {
        date(2020, 5, 8)
    } else {
        first_monday(y, 5)
    });
    // Spring: moved for the jubilees of 2012 and 2022.
    match y {
        2012 => out.extend([date(2012, 6, 4), date(2012, 6, 5)]),
        2022 => out.extend([date(2022, 6, 2), date(2022, 6, 3)]),
        _ => out.push(last_monday(y, 5)),
    }
    out.push(last_monday(y, 8));
    let christmas = date(y, 12, 25);
    let boxing = date(y, 12, 26);
    match christmas.civil().weekday() {
        // Christmas on Saturday: Monday and Tuesday.
        Weekday::Saturday => out.extend([date(y, 12, 27), date(y, 12, 28)]),
        // Christmas on Sunday: Boxing Day is Monday, Christmas substitute Tuesday.
        Weekday::Sunday => out.extend([boxing, date(y, 12, 27)]),
        // Christmas on Friday: Boxing Day (Saturday) moves to Monday.
        Weekday::Friday => out.extend([christmas, date(y, 12, 28)]),
        _ => out.extend([christmas, boxing]),
    }
    match y {
        2011 => out.push(date(2011, 4, 29)),
        2022 => out.push(date(2022, 9, 19)),
        2023 => out.push(date(2023, 5, 8)),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn known_holidays() {
        let c = Calendar::new(2019, 2025);
        for h in [
            "2020-05-08",
            "2021-12-27",
            "2021-12-28",
            "2022-06-02",
            "2022-06-03",
            "2022-09-19",
            "2022-12-26",
            "2022-12-27",
            "2023-05-08",
            "2024-03-29",
            "2024-04-01",
            "2024-05-06",
            "2024-05-27",
            "2024-08-26",
            "2025-04-18",
            "2025-04-21",
        ] {
            assert!(!c.is_working_day(d(h)), "{h}");
        }
        assert!(c.is_working_day(d("2024-04-02")));
        assert!(!c.is_working_day(d("2024-04-06")));
    }

    #[test]
    fn counting() {
        let c = Calendar::new(2024, 2024);
        // Friday 22 March 2024 + 5 working days: 25-28 March, then Good Friday and Easter Monday are
        // skipped, so Tuesday 2 April.
        assert_eq!(c.add(d("2024-03-22"), 5), d("2024-04-02"));
        assert_eq!(c.between(d("2024-03-22"), d("2024-04-02")), 5);
        assert_eq!(c.between(d("2024-04-02"), d("2024-03-22")), 0);
        assert_eq!(c.add(d("2024-03-30"), 0), d("2024-04-02"));
    }
}
