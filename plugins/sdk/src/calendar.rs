//! Working days in England and Wales: every day but Saturdays, Sundays and the bank holidays the host
//! supplies (from versioned data in Journey's repository).
//!
//! # Counting conventions
//! "Within N working days of X" is read two ways in practice, and a policy should say which it uses (a
//! parameter is best):
//!
//! * [`Counting::Inclusive`], the DfE validators' convention (CIN census checks as implemented by Data to
//!   Insight: `X + CustomBusinessDay(n = N - 1)` in pandas). The day of X counts as day 1 when it is a
//!   working day, so "within 1 working day" of a Thursday contact is that Thursday, and 45 working days from
//!   a Monday referral ends on the Friday of the ninth week.
//! * [`Counting::Exclusive`]: the next working day after X is day 1 (`X + CustomBusinessDay(n = N)`), so
//!   "within 1 working day" of a Thursday contact is the Friday.
//!
//! Both follow pandas' `CustomBusinessDay` exactly, including its rule for a start on a weekend or a bank
//! holiday: for `n > 0` the start first rolls *back* to the previous working day and then moves `n` working
//! days on; for `n <= 0` it rolls *forward* to the next working day. So from Saturday 30 March 2024 (Easter),
//! inclusive 1 and 2 working days are both Tuesday 2 April.
//!
//! The convention is the contract's [`Counting`], so that a deadline can say which it used
//! ([`crate::Deadline::counted`]); in parameters it reads as `"inclusive"` or `"exclusive"`.

use serde::{Deserialize, Deserializer};

use crate::{Calendar, Counting, Date};

/// The DfE validators' convention.
impl Default for Counting {
    fn default() -> Counting {
        Counting::Inclusive
    }
}

impl<'de> Deserialize<'de> for Counting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Counting, D::Error> {
        const NAMES: &[&str] = &["inclusive", "exclusive"];
        let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
        match name.as_ref() {
            "inclusive" => Ok(Counting::Inclusive),
            "exclusive" => Ok(Counting::Exclusive),
            other => Err(serde::de::Error::unknown_variant(other, NAMES)),
        }
    }
}

impl Counting {
    /// The convention in words: "the start day is day 1" or "the day after the start is day 1".
    pub fn describe(self) -> &'static str {
        match self {
            Counting::Inclusive => "the start day is day 1",
            Counting::Exclusive => "the day after the start is day 1",
        }
    }
}

impl Calendar {
    /// True when the holiday data covers `date`; outside it, bank holidays are unknown and treated as
    /// ordinary days.
    pub fn covers(&self, date: &Date) -> bool {
        self.covers_from <= *date && *date <= self.covers_to
    }

    pub fn is_bank_holiday(&self, date: &Date) -> bool {
        self.bank_holidays.binary_search(date).is_ok()
    }

    /// Monday to Friday and not a bank holiday.
    pub fn is_working_day(&self, date: &Date) -> bool {
        !date.weekday().is_weekend() && !self.is_bank_holiday(date)
    }

    /// `start` moved by `n` working days, exactly as pandas' `start + CustomBusinessDay(n)` with this
    /// calendar: a start that is not a working day first rolls back (for `n > 0`) or forward (for `n <= 0`)
    /// to a working day, then moves `n` working days.
    pub fn add_working_days(&self, start: Date, n: i64) -> Date {
        let step = |d: &Date, by: i64| d.add_days(by);
        let mut day = start;
        let roll = if n > 0 { -1 } else { 1 };
        while !self.is_working_day(&day) {
            day = step(&day, roll);
        }
        let direction = n.signum();
        for _ in 0..n.unsigned_abs() {
            day = step(&day, direction);
            while !self.is_working_day(&day) {
                day = step(&day, direction);
            }
        }
        day
    }

    /// The last day of "within `n` working days of `start`" (`n >= 1`) under the given convention.
    pub fn due_within_working_days(&self, start: Date, n: u32, counting: Counting) -> Date {
        let n = i64::from(n);
        match counting {
            Counting::Inclusive => self.add_working_days(start, n - 1),
            Counting::Exclusive => self.add_working_days(start, n),
        }
    }

    /// How many working days after `due` a thing done (or still not done) on `until` is: the working days
    /// after `due` up to and including `until`, where an `until` that is not a working day counts as the
    /// next working day (as pandas rolls it forward), so that something done late on a Saturday is one
    /// working day late, not none. Zero when `until` is not after `due`.
    pub fn working_days_late(&self, due: Date, until: Date) -> u32 {
        if until <= due {
            return 0;
        }
        let mut counted = until;
        while !self.is_working_day(&counted) {
            counted = counted.add_days(1);
        }
        u32::try_from(self.count_working_days(due.add_days(1), counted.add_days(1))).unwrap_or(0)
    }

    /// The working days in `[from, to)`, as numpy's `busday_count`; negative when `to` is before `from`.
    pub fn count_working_days(&self, from: Date, to: Date) -> i64 {
        if to < from {
            return -self.count_working_days(to, from);
        }
        let mut count = 0;
        let mut day = from;
        while day < to {
            if self.is_working_day(&day) {
                count += 1;
            }
            day = day.add_days(1);
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// England and Wales, spring 2024 and the Christmas of 2007: enough for the edges below.
    fn calendar() -> Calendar {
        Calendar {
            version: "test".into(),
            covers_from: Date::ymd(2007, 1, 1),
            covers_to: Date::ymd(2024, 12, 31),
            bank_holidays: vec![
                Date::ymd(2007, 12, 25),
                Date::ymd(2007, 12, 26),
                Date::ymd(2024, 3, 29),
                Date::ymd(2024, 4, 1),
                Date::ymd(2024, 5, 6),
            ],
        }
    }

    /// Expected values computed with pandas 2 (`Timestamp(start) + CustomBusinessDay(n, holidays=...)`).
    #[test]
    fn working_days_match_pandas_custom_business_day() {
        let c = calendar();
        let cases = [
            // (start, n, expected)
            ("2024-03-28", 0, "2024-03-28"), // Thursday before Good Friday
            ("2024-03-28", 1, "2024-04-02"), // over Good Friday, the weekend and Easter Monday
            ("2024-03-30", 0, "2024-04-02"), // Saturday rolls forward past Easter Monday
            ("2024-03-30", 1, "2024-04-02"), // Saturday rolls back to Thursday, then one on
            ("2024-03-23", 0, "2024-03-25"), // Saturday, forward to Monday
            ("2024-03-23", 1, "2024-03-25"), // Saturday, back to Friday, one on
            ("2024-03-29", 1, "2024-04-02"), // Good Friday itself rolls back to Thursday
            ("2024-04-02", -1, "2024-03-28"),
            ("2007-12-20", 5, "2007-12-31"),
        ];
        for (start, n, expected) in cases {
            let got = c.add_working_days(Date::parse(start).unwrap(), n);
            assert_eq!(got.to_string(), expected, "{start} + {n} working days");
        }
    }

    #[test]
    fn both_counting_conventions() {
        let c = calendar();
        let thursday = Date::ymd(2024, 3, 28);
        assert_eq!(
            c.due_within_working_days(thursday, 1, Counting::Inclusive),
            thursday
        );
        assert_eq!(
            c.due_within_working_days(thursday, 1, Counting::Exclusive),
            Date::ymd(2024, 4, 2)
        );
        // 45 working days from Monday 4 March 2024, inclusive: 44 on, over Easter and the May bank holiday.
        assert_eq!(
            c.due_within_working_days(Date::ymd(2024, 3, 4), 45, Counting::Inclusive),
            Date::ymd(2024, 5, 8)
        );
    }

    /// Lateness in working days across Christmas 2007 (Tuesday 25 and Wednesday 26 December): due on
    /// Monday 24, done on Thursday 27 is one working day late; on Saturday 29, three (it counts as Monday
    /// 31); on the due date or before, none.
    #[test]
    fn working_days_late_over_christmas() {
        let c = calendar();
        let due = Date::ymd(2007, 12, 24);
        assert_eq!(c.working_days_late(due, Date::ymd(2007, 12, 27)), 1);
        assert_eq!(c.working_days_late(due, Date::ymd(2007, 12, 28)), 2);
        assert_eq!(
            c.working_days_late(due, Date::ymd(2007, 12, 29)),
            3,
            "Saturday counts as Monday 31"
        );
        assert_eq!(
            c.working_days_late(due, Date::ymd(2007, 12, 25)),
            1,
            "a bank holiday rolls to the 27th"
        );
        assert_eq!(c.working_days_late(due, due), 0);
        assert_eq!(c.working_days_late(due, Date::ymd(2007, 12, 20)), 0);
    }

    #[test]
    fn counting_is_read_from_parameters() {
        let read = |s: &str| serde_json::from_str::<Counting>(s);
        assert_eq!(read(r#""inclusive""#).unwrap(), Counting::Inclusive);
        assert_eq!(read(r#""exclusive""#).unwrap(), Counting::Exclusive);
        let err = read(r#""sideways""#).unwrap_err().to_string();
        assert!(
            err.contains("unknown variant `sideways`, expected `inclusive` or `exclusive`"),
            "{err}"
        );
    }

    #[test]
    fn counting_working_days_between_dates() {
        let c = calendar();
        let (mon, next_mon) = (Date::ymd(2024, 3, 25), Date::ymd(2024, 4, 1));
        assert_eq!(c.count_working_days(mon, next_mon), 4, "Good Friday is not one");
        assert_eq!(c.count_working_days(next_mon, mon), -4);
        assert_eq!(c.count_working_days(mon, mon), 0);
        assert!(c.covers(&mon) && !c.covers(&Date::ymd(2025, 1, 1)));
    }
}
