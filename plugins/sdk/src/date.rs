//! Civil dates: construction, parsing, and day, week, month and year arithmetic.
//!
//! Dates are proleptic Gregorian, as Journey's core counts them. The arithmetic is the classic
//! days-from-civil conversion (Howard Hinnant's algorithms), exact for every date a journey can hold.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Date, TimeOfDay, Timestamp};

/// A day of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    pub fn is_weekend(self) -> bool {
        matches!(self, Weekday::Saturday | Weekday::Sunday)
    }
}

fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// The date, if it is a real calendar date.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        let date = Date { year, month, day };
        date.is_valid().then_some(date)
    }

    /// The date `YYYY-MM-DD` written as a literal in a policy or a test.
    ///
    /// # Panics
    /// If it is not a real date.
    pub fn ymd(year: i32, month: u8, day: u8) -> Date {
        Date::new(year, month, day)
            .unwrap_or_else(|| panic!("{year:04}-{month:02}-{day:02} is not a real date"))
    }

    /// Parses exactly `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = &s[r];
            part.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        let year = i32::try_from(digits(0..4)?).ok()?;
        let month = u8::try_from(digits(5..7)?).ok()?;
        let day = u8::try_from(digits(8..10)?).ok()?;
        Date::new(year, month, day)
    }

    /// True for a real calendar date (the host only ever sends real dates, and refuses output that is not).
    pub fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month) && self.day >= 1 && self.day <= days_in_month(self.year, self.month)
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn days_since_epoch(&self) -> i64 {
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01.
    pub fn from_days_since_epoch(days: i64) -> Date {
        let z = days + 719_468;
        let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date {
            year: i32::try_from(year).expect("year within i32"),
            month: u8::try_from(month).expect("month 1..=12"),
            day: u8::try_from(day).expect("day 1..=31"),
        }
    }

    pub fn weekday(&self) -> Weekday {
        // 1970-01-01 was a Thursday.
        match (self.days_since_epoch() + 3).rem_euclid(7) {
            0 => Weekday::Monday,
            1 => Weekday::Tuesday,
            2 => Weekday::Wednesday,
            3 => Weekday::Thursday,
            4 => Weekday::Friday,
            5 => Weekday::Saturday,
            _ => Weekday::Sunday,
        }
    }

    /// The date `days` days later (earlier if negative).
    pub fn add_days(&self, days: i64) -> Date {
        Date::from_days_since_epoch(self.days_since_epoch() + days)
    }

    pub fn add_weeks(&self, weeks: i64) -> Date {
        self.add_days(weeks * 7)
    }

    /// Whole days from `self` to `later` (negative if `later` is earlier).
    pub fn days_until(&self, later: &Date) -> i64 {
        later.days_since_epoch() - self.days_since_epoch()
    }

    /// The same day `months` calendar months later (earlier if negative), clamped to the end of a shorter
    /// month: 31 January + 1 month is 28 (or 29) February. "Within three months of the conference" is
    /// `conference.add_months(3)`.
    pub fn add_months(&self, months: i32) -> Date {
        let index = i64::from(self.year) * 12 + i64::from(self.month) - 1 + i64::from(months);
        let year = i32::try_from(index.div_euclid(12)).expect("year within i32");
        let month = u8::try_from(index.rem_euclid(12) + 1).expect("month 1..=12");
        Date {
            year,
            month,
            day: self.day.min(days_in_month(year, month)),
        }
    }

    /// The same day `years` years later; 29 February becomes 28 February in a common year. This is how the
    /// DfE validators count birthdays (`DOB + N years`), and how `journey-core` does.
    pub fn add_years(&self, years: i32) -> Date {
        self.add_months(years * 12)
    }

    /// Age in completed years on `on`, for a date of birth: the largest `n` with `self.add_years(n) <= on`,
    /// so that ages and birthdays agree. `None` before birth.
    pub fn age_on(&self, on: &Date) -> Option<u32> {
        if on < self {
            return None;
        }
        let mut years = on.year - self.year;
        if self.add_years(years) > *on {
            years -= 1;
        }
        u32::try_from(years).ok()
    }

    /// The `n`th birthday of a child born on this date (see [`Date::add_years`]).
    pub fn birthday(&self, n: u32) -> Date {
        self.add_years(i32::try_from(n).expect("a plausible age"))
    }
}

/// Microseconds in a day.
const DAY_MICROS: i64 = 86_400_000_000;
const HOUR_MICROS: i64 = 3_600_000_000;

/// The instants (UTC microseconds) British Summer Time starts and ends in `year`: 01:00 UTC on the last
/// Sunday of March and of October (the rule since 1996, applied to every year).
fn summer_time(year: i32) -> (Timestamp, Timestamp) {
    let last_sunday = |month: u8| {
        let last = Date::ymd(year, month, 31);
        let back = (last.weekday() as i64 + 1) % 7;
        last.add_days(-back)
    };
    let at_one = |d: Date| d.days_since_epoch() * DAY_MICROS + HOUR_MICROS;
    (at_one(last_sunday(3)), at_one(last_sunday(10)))
}

/// An instant as microseconds of local (GMT or BST) time in England since 1970-01-01T00:00.
fn local_in_england(instant: Timestamp) -> Timestamp {
    let utc = Date::from_days_since_epoch(instant.div_euclid(DAY_MICROS));
    let (starts, ends) = summer_time(utc.year);
    if instant >= starts && instant < ends {
        instant + HOUR_MICROS
    } else {
        instant
    }
}

impl Date {
    /// The instant a civil date and time in England names (UTC microseconds): GMT in winter, BST (UTC+1) in
    /// summer. A time in the hour skipped in March reads as GMT; one in the hour repeated in October as
    /// the first (BST) of the two. Midnight when `time` is `None`.
    pub fn instant_in_england(&self, time: Option<TimeOfDay>) -> Timestamp {
        let (h, m, s) = time.map_or((0, 0, 0), |t| (t.hour, t.minute, t.second));
        let local = self.days_since_epoch() * DAY_MICROS
            + (i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s)) * 1_000_000;
        let (starts, ends) = summer_time(self.year);
        let as_bst = local - HOUR_MICROS;
        if as_bst >= starts && as_bst < ends {
            as_bst
        } else {
            local
        }
    }

    /// The civil date in England of an instant (the inverse of [`Date::instant_in_england`]).
    pub fn in_england_at(instant: Timestamp) -> Date {
        Date::from_days_since_epoch(local_in_england(instant).div_euclid(DAY_MICROS))
    }

    /// An instant as a civil date and time in England, for a reason's text: "2024-04-01 at 23:00".
    pub fn describe_instant(instant: Timestamp) -> String {
        let local = local_in_england(instant);
        let seconds = local.rem_euclid(DAY_MICROS) / 1_000_000;
        format!(
            "{} at {:02}:{:02}",
            Date::from_days_since_epoch(local.div_euclid(DAY_MICROS)),
            seconds / 3600,
            seconds % 3600 / 60
        )
    }

    /// Whole calendar months from `self` to `later` (counting as [`Date::add_months`] does: the largest
    /// `n` with `self.add_months(n) <= later`); negative when `later` is earlier.
    pub fn months_until(&self, later: &Date) -> i32 {
        let mut n = (later.year - self.year) * 12 + i32::from(later.month) - i32::from(self.month);
        while self.add_months(n) > *later {
            n -= 1;
        }
        while self.add_months(n + 1) <= *later {
            n += 1;
        }
        n
    }
}

/// A duration in calendar days for a reason's text: "45 days", "1 day".
pub fn days(n: i64) -> String {
    if n == 1 || n == -1 {
        format!("{n} day")
    } else {
        format!("{n} days")
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Date::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not a date YYYY-MM-DD: {s:?}")))
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}:{:02}", self.hour, self.minute, self.second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_since_epoch_round_trips() {
        for days in (-800_000..800_000).step_by(97) {
            let date = Date::from_days_since_epoch(days);
            assert!(date.is_valid(), "{date}");
            assert_eq!(date.days_since_epoch(), days, "{date}");
        }
        assert_eq!(Date::ymd(1970, 1, 1).days_since_epoch(), 0);
        assert_eq!(Date::ymd(2000, 3, 1).days_since_epoch(), 11_017);
    }

    #[test]
    fn weekdays() {
        assert_eq!(Date::ymd(1970, 1, 1).weekday(), Weekday::Thursday);
        assert_eq!(Date::ymd(2024, 3, 29).weekday(), Weekday::Friday);
        assert_eq!(Date::ymd(2024, 3, 30).weekday(), Weekday::Saturday);
        assert_eq!(Date::ymd(1969, 12, 28).weekday(), Weekday::Sunday);
    }

    #[test]
    fn parsing_is_strict() {
        assert_eq!(Date::parse("2024-02-29"), Some(Date::ymd(2024, 2, 29)));
        assert_eq!(Date::parse("2023-02-29"), None);
        assert_eq!(Date::parse("2024-2-29"), None);
        assert_eq!(Date::parse("2024-02-2x"), None);
        assert_eq!(Date::parse("+024-02-20"), None);
        assert_eq!(Date::ymd(2014, 3, 3).to_string(), "2014-03-03");
    }

    #[test]
    fn months_clamp_to_the_end_of_the_month() {
        assert_eq!(Date::ymd(2014, 1, 31).add_months(1), Date::ymd(2014, 2, 28));
        assert_eq!(Date::ymd(2016, 1, 31).add_months(1), Date::ymd(2016, 2, 29));
        assert_eq!(Date::ymd(2014, 10, 31).add_months(3), Date::ymd(2015, 1, 31));
        assert_eq!(Date::ymd(2014, 11, 30).add_months(3), Date::ymd(2015, 2, 28));
        assert_eq!(Date::ymd(2014, 3, 15).add_months(-3), Date::ymd(2013, 12, 15));
        assert_eq!(Date::ymd(2014, 3, 15).add_weeks(13), Date::ymd(2014, 6, 14));
    }

    #[test]
    fn birthdays_on_29_february_fall_on_28_february_in_common_years() {
        let dob = Date::ymd(2008, 2, 29);
        assert_eq!(dob.birthday(16), Date::ymd(2024, 2, 29));
        assert_eq!(dob.birthday(14), Date::ymd(2022, 2, 28));
        assert_eq!(dob.age_on(&Date::ymd(2022, 2, 27)), Some(13));
        assert_eq!(dob.age_on(&Date::ymd(2022, 2, 28)), Some(14));
        assert_eq!(dob.age_on(&Date::ymd(2008, 2, 28)), None);
        assert_eq!(dob.age_on(&dob), Some(0));
        let dob = Date::ymd(2010, 6, 15);
        assert_eq!(dob.age_on(&Date::ymd(2026, 6, 14)), Some(15));
        assert_eq!(dob.age_on(&Date::ymd(2026, 6, 15)), Some(16));
    }

    #[test]
    fn instants_in_england_follow_summer_time() {
        let t = |hour| {
            Some(TimeOfDay {
                hour,
                minute: 0,
                second: 0,
            })
        };
        // 31 March 2024: BST from 01:00 UTC. 27 October 2024: back to GMT at 01:00 UTC.
        let winter = Date::ymd(2024, 1, 15).instant_in_england(t(12));
        assert_eq!(
            winter,
            (Date::ymd(2024, 1, 15).days_since_epoch() * 24 + 12) * 3_600_000_000
        );
        let summer = Date::ymd(2024, 7, 1).instant_in_england(t(12));
        assert_eq!(
            summer,
            (Date::ymd(2024, 7, 1).days_since_epoch() * 24 + 11) * 3_600_000_000
        );
        assert_eq!(Date::in_england_at(summer), Date::ymd(2024, 7, 1));
        // 23:30 BST on 1 July is 22:30 UTC; 00:30 BST on 2 July is 23:30 UTC on 1 July.
        let late = Date::ymd(2024, 7, 2).instant_in_england(Some(TimeOfDay {
            hour: 0,
            minute: 30,
            second: 0,
        }));
        assert_eq!(Date::in_england_at(late), Date::ymd(2024, 7, 2));
        assert_eq!(
            Date::from_days_since_epoch(late.div_euclid(86_400_000_000)),
            Date::ymd(2024, 7, 1)
        );
        // 72 hours from 22:00 on Friday 29 March 2024 (GMT) is 23:00 BST on Monday 1 April.
        let start = Date::ymd(2024, 3, 29).instant_in_england(t(22));
        assert_eq!(
            Date::in_england_at(start + 72 * 3_600_000_000),
            Date::ymd(2024, 4, 1)
        );
        assert_eq!(
            Date::describe_instant(start + 72 * 3_600_000_000),
            "2024-04-01 at 23:00"
        );
        assert_eq!(Date::describe_instant(start), "2024-03-29 at 22:00");
    }

    #[test]
    fn whole_months_between_dates() {
        assert_eq!(Date::ymd(2024, 1, 31).months_until(&Date::ymd(2024, 2, 29)), 1);
        assert_eq!(Date::ymd(2024, 1, 31).months_until(&Date::ymd(2024, 2, 28)), 0);
        assert_eq!(Date::ymd(2024, 3, 15).months_until(&Date::ymd(2025, 3, 14)), 11);
        assert_eq!(Date::ymd(2024, 3, 15).months_until(&Date::ymd(2024, 1, 15)), -2);
        assert_eq!(days(1), "1 day");
        assert_eq!(days(45), "45 days");
    }

    #[test]
    fn dates_are_json_strings() {
        let d: Date = serde_json::from_str("\"2014-03-03\"").unwrap();
        assert_eq!(d, Date::ymd(2014, 3, 3));
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"2014-03-03\"");
        assert!(serde_json::from_str::<Date>("\"2014-02-30\"").is_err());
    }
}
