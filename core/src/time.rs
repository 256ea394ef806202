//! The two time axes.
//!
//! * **Valid time** (`occurred_at`): when something happened in the world, as the agency records it: a civil
//!   date, with a time of day where it matters (a contact, a missing episode). Civil time in England
//!   (`Europe/London`), because that is how every English record is kept.
//! * **Transaction time** (`recorded_at`): when Journey accepted the record, a UTC instant from the store's
//!   injected [`Clock`], never from the sender.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use bincode::de::Decoder;
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};
use bincode::{Decode, Encode};
use jiff::civil;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// The time zone in which English children's social care records civil dates and times.
pub fn england() -> &'static TimeZone {
    // Bundled tz data (jiff's `tzdb-bundle-always`), so a machine without /usr/share/zoneinfo still works.
    // Looked up once: a lookup by name searches the database, and every recorded event's lag, every
    // "today in England" and every hour-based deadline needs the zone.
    static ENGLAND: std::sync::LazyLock<TimeZone> = std::sync::LazyLock::new(|| {
        TimeZone::get("Europe/London").expect("Europe/London is in the bundled tz database")
    });
    &ENGLAND
}

/// A calendar date (no time, no zone): a date of birth, the start of a placement, a review date.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(civil::Date);

impl Date {
    pub fn new(year: i16, month: i8, day: i8) -> Result<Date, FieldError> {
        civil::Date::new(year, month, day)
            .map(Date)
            .map_err(|e| FieldError::new("date", format!("must be a real calendar date: {e}")))
    }

    /// Parses `YYYY-MM-DD`, naming `field` on failure.
    pub fn parse_field(field: &str, s: &str) -> Result<Date, FieldError> {
        parse_date(s).map_err(|rule| FieldError::new(field, format!("{rule} (got {s:?})")))
    }

    pub fn civil(self) -> civil::Date {
        self.0
    }

    pub fn year(self) -> i16 {
        self.0.year()
    }
    pub fn month(self) -> i8 {
        self.0.month()
    }
    pub fn day(self) -> i8 {
        self.0.day()
    }

    /// The date `days` days later (or earlier, if negative), or `None` past either end of the calendar
    /// (years -9999 and 9999).
    pub fn checked_add_days(self, days: i32) -> Option<Date> {
        let span = jiff::Span::new().try_days(days).ok()?;
        self.0.checked_add(span).ok().map(Date)
    }

    /// The date `days` days later (or earlier, if negative). Past either end of the calendar the answer is
    /// that end: dates Journey accepts ([`Date::check_accepted`]) are centuries inside it, so only a date
    /// stored before the range was enforced can get there, and a read of it must not crash. Where the
    /// difference matters, use [`Date::checked_add_days`].
    pub fn add_days(self, days: i32) -> Date {
        self.checked_add_days(days)
            .unwrap_or(if days < 0 { Date::MIN } else { Date::MAX })
    }

    /// The date `months` calendar months later (or earlier), the day clamped to the month's length;
    /// saturates at the ends of the calendar, as [`Date::add_days`] does.
    pub fn add_months(self, months: i32) -> Date {
        jiff::Span::new()
            .try_months(months)
            .and_then(|span| self.0.checked_add(span))
            .map_or(if months < 0 { Date::MIN } else { Date::MAX }, Date)
    }

    /// Whole days from `self` to `later` (negative if `later` is earlier).
    pub fn days_until(self, later: Date) -> i32 {
        (later.0 - self.0).get_days()
    }

    /// The date `years` calendar years later (29 February becomes 28 February in a common year), or `None`
    /// past either end of the calendar.
    pub fn checked_add_years(self, years: i16) -> Option<Date> {
        let span = jiff::Span::new().try_years(years).ok()?;
        self.0.checked_add(span).ok().map(Date)
    }

    /// The date `years` calendar years later; 29 February becomes 28 February in a common year. This is
    /// how the DfE validators count birthdays (`DOB + N years`); policies that must follow the reading
    /// that a 29 February birthday falls on 1 March can add a day themselves. Saturates at the ends of the
    /// calendar, as [`Date::add_days`] does.
    pub fn add_years(self, years: i16) -> Date {
        self.checked_add_years(years)
            .unwrap_or(if years < 0 { Date::MIN } else { Date::MAX })
    }

    /// Age in completed years on `on`: the largest `n` with `self.add_years(n) <= on`, so that age and
    /// birthdays agree (see [`Date::add_years`]).
    pub fn age_on(self, on: Date) -> i32 {
        // Two dates of the calendar are always a whole number of years (fewer than 20,000) apart.
        let years = self
            .0
            .until((jiff::Unit::Year, on.0))
            .map_or(0, |span| span.get_years());
        // jiff counts 29 February to 28 February as short of a year; step up when the clamped birthday has
        // come. A birthday past the end of the calendar has not.
        match self.checked_add_years(years.saturating_add(1)) {
            Some(birthday) if birthday <= on => i32::from(years) + 1,
            _ => i32::from(years),
        }
    }

    /// The first and last dates of the calendar.
    pub const MIN: Date = Date(civil::Date::MIN);
    pub const MAX: Date = Date(civil::Date::MAX);

    /// The earliest date Journey accepts anywhere: 1 January 1900. Nobody in children's social care now
    /// was born, or had anything recorded, before it.
    pub const EARLIEST_ACCEPTED: Date = Date(civil::date(1900, 1, 1));
    /// The latest date Journey accepts anywhere (an expected date of birth, an order's expiry, the date a
    /// policy judges, the end of a return's window): 31 December 2200, the far end of any retention period
    /// (a record kept until the child's 75th birthday, for a child born today, ends before 2110).
    pub const LATEST_ACCEPTED: Date = Date(civil::date(2200, 12, 31));

    /// `self`, if Journey accepts it ([`Date::EARLIEST_ACCEPTED`] to [`Date::LATEST_ACCEPTED`]); otherwise
    /// the rule, naming `field`. Within this range all of Journey's date arithmetic (birthdays, working
    /// days, retention periods) stays centuries inside the calendar.
    pub fn check_accepted(self, field: &str) -> Result<Date, FieldError> {
        if (Date::EARLIEST_ACCEPTED..=Date::LATEST_ACCEPTED).contains(&self) {
            Ok(self)
        } else {
            Err(FieldError::new(field, Date::accepted_rule(self)))
        }
    }

    /// The rule [`Date::check_accepted`] states, for `got`.
    pub fn accepted_rule(got: Date) -> String {
        format!(
            "must be from {} to {} (got {got})",
            Date::EARLIEST_ACCEPTED,
            Date::LATEST_ACCEPTED
        )
    }
}

impl From<civil::Date> for Date {
    fn from(d: civil::Date) -> Date {
        Date(d)
    }
}

fn parse_date(s: &str) -> Result<Date, &'static str> {
    // Exactly YYYY-MM-DD: reject the looser forms a general parser accepts, so exports and imports agree.
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err("must be a date written YYYY-MM-DD");
    }
    civil::Date::from_str(s)
        .map(Date)
        .map_err(|_| "must be a real calendar date written YYYY-MM-DD")
}

/// The text of a date, time or instant, written into a buffer on the stack: dates and instants are
/// written by the million (every event, every chronology entry, every policy input), and `write!` with
/// padded integers costs several times more than the digits themselves.
struct Text {
    bytes: [u8; 32],
    len: usize,
}

impl Text {
    fn new() -> Text {
        Text {
            bytes: [0; 32],
            len: 0,
        }
    }

    fn push(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    /// `value` in decimal, zero-padded to `width` digits (`value` must fit).
    fn digits(&mut self, value: u32, width: usize) {
        let mut value = value;
        for i in (0..width).rev() {
            self.bytes[self.len + i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
        self.len += width;
    }

    fn date(&mut self, d: civil::Date) {
        // `Date` and the instants Journey writes are within years 0..=9999 (checked by the callers).
        self.digits(d.year().unsigned_abs().into(), 4);
        self.push(b'-');
        self.digits(d.month().unsigned_abs().into(), 2);
        self.push(b'-');
        self.digits(d.day().unsigned_abs().into(), 2);
    }

    fn time(&mut self, t: civil::Time) {
        self.digits(t.hour().unsigned_abs().into(), 2);
        self.push(b':');
        self.digits(t.minute().unsigned_abs().into(), 2);
        self.push(b':');
        self.digits(t.second().unsigned_abs().into(), 2);
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).expect("ASCII digits and separators")
    }
}

fn four_digit_year(d: civil::Date) -> bool {
    (0..=9999).contains(&d.year())
}

impl Date {
    fn text(&self) -> Option<Text> {
        four_digit_year(self.0).then(|| {
            let mut t = Text::new();
            t.date(self.0);
            t
        })
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.text() {
            Some(t) => f.pad(t.as_str()),
            None => write!(
                f,
                "{:04}-{:02}-{:02}",
                self.0.year(),
                self.0.month(),
                self.0.day()
            ),
        }
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

impl FromStr for Date {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Date, FieldError> {
        Date::parse_field("date", s)
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.text() {
            Some(t) => s.serialize_str(t.as_str()),
            None => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse_date(&s).map_err(serde::de::Error::custom)
    }
}

impl Encode for Date {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        (self.0.year(), self.0.month(), self.0.day()).encode(e)
    }
}

impl<C> Decode<C> for Date {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Date, DecodeError> {
        let (y, m, day): (i16, i8, i8) = Decode::decode(d)?;
        civil::Date::new(y, m, day)
            .map(Date)
            .map_err(|e| DecodeError::OtherString(e.to_string()))
    }
}
bincode::impl_borrow_decode!(Date);

/// When something happened (valid time): a civil date in England, with a time of day where one is known.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OccurredAt {
    date: Date,
    time: Option<civil::Time>,
}

impl OccurredAt {
    pub fn on(date: Date) -> OccurredAt {
        OccurredAt { date, time: None }
    }

    pub fn at(date: Date, hour: i8, minute: i8) -> Result<OccurredAt, FieldError> {
        let time = civil::Time::new(hour, minute, 0, 0)
            .map_err(|e| FieldError::new("occurred_at", format!("must be a real time of day: {e}")))?;
        Ok(OccurredAt {
            date,
            time: Some(time),
        })
    }

    pub fn date(&self) -> Date {
        self.date
    }

    pub fn time(&self) -> Option<civil::Time> {
        self.time
    }

    /// The instant this denotes in England (the start of the day when no time is known). Used for
    /// hour-based timescales such as the 72-hour return interview.
    pub fn to_timestamp(&self) -> Timestamp {
        let dt = self
            .date
            .0
            .to_datetime(self.time.unwrap_or(civil::Time::midnight()));
        // A time that does not exist in London (in the hour the clocks go forward) is refused when an event
        // is accepted (`OccurredAt::check_exists_in_england`); `compatible` reads one stored earlier as the
        // same wall-clock time after the change, and a repeated time (when the clocks go back) as the first.
        // Only the last day of the calendar has no instant; it stays at the latest instant there is.
        let instant = england().to_ambiguous_timestamp(dt).compatible().unwrap_or(
            if self.date < Date::EARLIEST_ACCEPTED {
                jiff::Timestamp::MIN
            } else {
                jiff::Timestamp::MAX
            },
        );
        Timestamp::from_micros(instant.as_microsecond()).unwrap_or(Timestamp(instant))
    }

    /// `self`, if it names a time that happened in England: refuses the wall-clock times skipped when the
    /// clocks go forward (01:00 to 01:59 on the last Sunday of March), naming `field`. A time repeated when
    /// the clocks go back (01:00 to 01:59 on the last Sunday of October) is read as the first of the two,
    /// in British Summer Time: a record made in that hour cannot say which it meant.
    pub fn check_exists_in_england(self, field: &str) -> Result<OccurredAt, FieldError> {
        let Some(time) = self.time else {
            return Ok(self);
        };
        let ambiguous = england().to_ambiguous_timestamp(self.date.0.to_datetime(time));
        if let jiff::tz::AmbiguousOffset::Gap { .. } = ambiguous.offset() {
            return Err(FieldError::new(
                field,
                format!(
                    "{self} is not a time that happened in England: the clocks went forward an hour that night \
                     (British Summer Time began) and skipped it: give the time as a clock in England showed it, or \
                     the date alone"
                ),
            ));
        }
        Ok(self)
    }

    pub fn parse_field(field: &str, s: &str) -> Result<OccurredAt, FieldError> {
        parse_occurred(s).map_err(|rule| FieldError::new(field, format!("{rule} (got {s:?})")))
    }
}

fn parse_occurred(s: &str) -> Result<OccurredAt, &'static str> {
    const RULE: &str =
        "must be a date YYYY-MM-DD or a civil date-time YYYY-MM-DDTHH:MM[:SS] in England (no offset)";
    if s.len() == 10 {
        return parse_date(s).map(OccurredAt::on).map_err(|_| RULE);
    }
    let (date, time) = s.split_once('T').ok_or(RULE)?;
    let date = parse_date(date).map_err(|_| RULE)?;
    if !(time.len() == 5 || time.len() == 8) {
        return Err(RULE);
    }
    let time = civil::Time::from_str(time).map_err(|_| RULE)?;
    Ok(OccurredAt {
        date,
        time: Some(time.with().subsec_nanosecond(0).build().map_err(|_| RULE)?),
    })
}

impl OccurredAt {
    fn text(&self) -> Option<Text> {
        let mut text = self.date.text()?;
        if let Some(t) = self.time {
            text.push(b'T');
            text.time(t);
        }
        Some(text)
    }
}

impl fmt::Display for OccurredAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(t) = self.text() {
            return f.pad(t.as_str());
        }
        match self.time {
            None => self.date.fmt(f),
            Some(t) => write!(
                f,
                "{}T{:02}:{:02}:{:02}",
                self.date,
                t.hour(),
                t.minute(),
                t.second()
            ),
        }
    }
}

impl fmt::Debug for OccurredAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OccurredAt({self})")
    }
}

impl FromStr for OccurredAt {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<OccurredAt, FieldError> {
        OccurredAt::parse_field("occurred_at", s)
    }
}

impl Serialize for OccurredAt {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.text() {
            Some(t) => s.serialize_str(t.as_str()),
            None => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for OccurredAt {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<OccurredAt, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse_occurred(&s).map_err(serde::de::Error::custom)
    }
}

impl Encode for OccurredAt {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.date.encode(e)?;
        self.time.map(|t| (t.hour(), t.minute(), t.second())).encode(e)
    }
}

impl<C> Decode<C> for OccurredAt {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<OccurredAt, DecodeError> {
        let date = Date::decode(d)?;
        let time: Option<(i8, i8, i8)> = Decode::decode(d)?;
        let time = time
            .map(|(h, m, s)| civil::Time::new(h, m, s, 0))
            .transpose()
            .map_err(|e| DecodeError::OtherString(e.to_string()))?;
        Ok(OccurredAt { date, time })
    }
}
bincode::impl_borrow_decode!(OccurredAt);

/// An instant in UTC with microsecond precision: transaction time, and claims of when another system
/// recorded something.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(jiff::Timestamp);

impl Timestamp {
    pub const UNIX_EPOCH: Timestamp = Timestamp(jiff::Timestamp::UNIX_EPOCH);

    pub fn from_micros(micros: i64) -> Result<Timestamp, FieldError> {
        jiff::Timestamp::from_microsecond(micros)
            .map(Timestamp)
            .map_err(|e| FieldError::new("timestamp", format!("must be within the supported range: {e}")))
    }

    pub fn as_micros(self) -> i64 {
        self.0.as_microsecond()
    }

    pub fn jiff(self) -> jiff::Timestamp {
        self.0
    }

    /// The civil date in England at this instant: what "today" meant to the people recording.
    pub fn england_date(self) -> Date {
        Date(england().to_datetime(self.0).date())
    }

    pub fn parse_field(field: &str, s: &str) -> Result<Timestamp, FieldError> {
        parse_timestamp(s).map_err(|rule| FieldError::new(field, format!("{rule} (got {s:?})")))
    }

    /// The earliest instant Journey accepts (a `known_at`, a `source_recorded_at`): the start of
    /// [`Date::EARLIEST_ACCEPTED`], 1900-01-01T00:00:00Z.
    pub const EARLIEST_ACCEPTED: Timestamp = Timestamp(jiff::Timestamp::constant(-2_208_988_800, 0));
    /// The latest: the last microsecond of [`Date::LATEST_ACCEPTED`], 2200-12-31T23:59:59.999999Z.
    pub const LATEST_ACCEPTED: Timestamp = Timestamp(jiff::Timestamp::constant(7_289_654_399, 999_999_000));

    /// `self`, if Journey accepts it ([`Timestamp::EARLIEST_ACCEPTED`] to [`Timestamp::LATEST_ACCEPTED`]);
    /// otherwise the rule, naming `field`.
    pub fn check_accepted(self, field: &str) -> Result<Timestamp, FieldError> {
        if (Timestamp::EARLIEST_ACCEPTED..=Timestamp::LATEST_ACCEPTED).contains(&self) {
            Ok(self)
        } else {
            Err(FieldError::new(
                field,
                format!(
                    "must be an instant from {} to {} (got {self})",
                    Timestamp::EARLIEST_ACCEPTED,
                    Timestamp::LATEST_ACCEPTED
                ),
            ))
        }
    }

    pub fn plus_micros(self, micros: i64) -> Timestamp {
        Timestamp::from_micros(self.as_micros().saturating_add(micros)).unwrap_or(self)
    }
}

fn parse_timestamp(s: &str) -> Result<Timestamp, &'static str> {
    const RULE: &str = "must be an RFC 3339 instant with an offset, e.g. 2014-03-03T09:30:00Z";
    let ts = jiff::Timestamp::from_str(s).map_err(|_| RULE)?;
    // Truncate to microseconds: that is the stored precision, and a round trip must be exact.
    Timestamp::from_micros(ts.as_microsecond()).map_err(|_| RULE)
}

impl Timestamp {
    /// RFC 3339 in UTC, as jiff writes it: fractional seconds only when there are any, without trailing
    /// zeros ("2024-03-01T09:30:00Z", "2024-03-01T09:30:00.25Z").
    fn text(&self) -> Option<Text> {
        let at = jiff::tz::Offset::UTC.to_datetime(self.0);
        if !four_digit_year(at.date()) {
            return None;
        }
        let mut text = Text::new();
        text.date(at.date());
        text.push(b'T');
        text.time(at.time());
        // Stored instants have microsecond precision; jiff keeps nanoseconds, so write all nine digits
        // and trim.
        let nanos = at.time().subsec_nanosecond().unsigned_abs();
        if nanos != 0 {
            text.push(b'.');
            text.digits(nanos, 9);
            while text.bytes[text.len - 1] == b'0' {
                text.len -= 1;
            }
        }
        text.push(b'Z');
        Some(text)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.text() {
            Some(t) => f.pad(t.as_str()),
            None => self.0.fmt(f),
        }
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.0)
    }
}

impl FromStr for Timestamp {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Timestamp, FieldError> {
        Timestamp::parse_field("timestamp", s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.text() {
            Some(t) => s.serialize_str(t.as_str()),
            None => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse_timestamp(&s).map_err(serde::de::Error::custom)
    }
}

impl Encode for Timestamp {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.as_micros().encode(e)
    }
}

impl<C> Decode<C> for Timestamp {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Timestamp, DecodeError> {
        Timestamp::from_micros(i64::decode(d)?).map_err(|e| DecodeError::OtherString(e.to_string()))
    }
}
bincode::impl_borrow_decode!(Timestamp);

/// The source of transaction time. Injected into every store so that tests control time and nothing in
/// `core` reads the ambient clock.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// The machine's clock, for production.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The one sanctioned read of the ambient clock.
    fn now(&self) -> Timestamp {
        Timestamp::from_micros(jiff::Timestamp::now().as_microsecond()).expect("system clock within range")
    }
}

/// A clock that only moves when told to: for tests, and for replaying history deterministically.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<Timestamp>>);

impl ManualClock {
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock(Arc::new(Mutex::new(start)))
    }

    pub fn set(&self, to: Timestamp) {
        *self.0.lock().expect("clock lock") = to;
    }

    pub fn advance_micros(&self, micros: i64) {
        let mut now = self.0.lock().expect("clock lock");
        *now = now.plus_micros(micros);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().expect("clock lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The hand-written text of an instant is jiff's, byte for byte, over eleven millennia of
        /// microseconds (and jiff's own for the years outside four digits).
        #[test]
        fn instants_are_written_as_jiff_writes_them(micros in -70_000_000_000_000_000i64..200_000_000_000_000_000) {
            let t = Timestamp::from_micros(micros).unwrap();
            proptest::prop_assert_eq!(t.to_string(), t.0.to_string());
            proptest::prop_assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{}\"", t.0));
        }

        #[test]
        fn dates_and_times_are_written_zero_padded(days in -800_000i32..800_000, seconds in proptest::option::of(0i32..86_400)) {
            let d = civil::Date::new(1970, 1, 1).unwrap().checked_add(jiff::Span::new().days(days)).unwrap();
            let expected_date = format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
            proptest::prop_assert_eq!(Date(d).to_string(), expected_date.clone());
            let at = OccurredAt {
                date: Date(d),
                time: seconds.map(|s| civil::Time::new((s / 3600) as i8, (s / 60 % 60) as i8, (s % 60) as i8, 0).unwrap()),
            };
            let expected = match at.time {
                None => expected_date,
                Some(t) => format!("{expected_date}T{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()),
            };
            proptest::prop_assert_eq!(at.to_string(), expected.clone());
            proptest::prop_assert_eq!(serde_json::to_string(&at).unwrap(), format!("\"{expected}\""));
        }
    }

    #[test]
    fn dates_honour_width_and_alignment() {
        let d = Date::new(2024, 2, 29).unwrap();
        assert_eq!(format!("[{d:>12}]"), "[  2024-02-29]");
        assert_eq!(format!("[{d:<11}]"), "[2024-02-29 ]");
    }

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(Date::from_str("2014-02-28").unwrap().to_string(), "2014-02-28");
        assert!(Date::from_str("2014-02-29").is_err());
        assert!(Date::from_str("2014-2-28").is_err());
        let err = Date::parse_field("date_of_birth", "31/01/2014").unwrap_err();
        assert_eq!(err.field, "date_of_birth");
    }

    #[test]
    fn birthdays_on_29_february() {
        let dob = Date::from_str("2008-02-29").unwrap();
        assert_eq!(dob.add_years(16).to_string(), "2024-02-29");
        assert_eq!(dob.add_years(14).to_string(), "2022-02-28");
        assert_eq!(dob.age_on(Date::from_str("2022-02-27").unwrap()), 13);
        assert_eq!(dob.age_on(Date::from_str("2022-02-28").unwrap()), 14);
    }

    #[test]
    fn occurred_at_accepts_dates_and_civil_times() {
        let d: OccurredAt = "2014-03-01".parse().unwrap();
        assert_eq!(d.time(), None);
        let t: OccurredAt = "2014-03-01T14:30".parse().unwrap();
        assert_eq!(t.to_string(), "2014-03-01T14:30:00");
        assert!("2014-03-01T14:30:00Z".parse::<OccurredAt>().is_err());
        // British Summer Time: 14:30 in London on 1 July is 13:30 UTC.
        let summer: OccurredAt = "2014-07-01T14:30".parse().unwrap();
        assert_eq!(summer.to_timestamp().to_string(), "2014-07-01T13:30:00Z");
    }

    #[test]
    fn timestamps_round_trip_through_json_and_bincode() {
        let ts: Timestamp = "2014-03-03T09:30:00.123456Z".parse().unwrap();
        let json = serde_json::to_string(&ts).unwrap();
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), ts);
        let bytes = bincode::encode_to_vec(ts, bincode::config::standard()).unwrap();
        let (back, _): (Timestamp, _) =
            bincode::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
        assert_eq!(back, ts);
    }

    proptest::proptest! {
        /// Date arithmetic never panics, wherever in the calendar it starts (an acceptance finding: a date
        /// near 9999 crashed a handler), and inside the range Journey accepts it is exact.
        #[test]
        fn date_arithmetic_never_panics(days_from_epoch in -4_000_000i32..3_000_000, step in -3_000_000i32..3_000_000, years in i16::MIN..i16::MAX) {
            let Some(d) = Date(civil::date(1970, 1, 1)).checked_add_days(days_from_epoch) else {
                return Ok(());
            };
            let later = d.add_days(step);
            proptest::prop_assert!(later >= Date::MIN && later <= Date::MAX);
            let _ = d.add_years(years);
            let _ = d.add_months(i32::from(years));
            let _ = d.age_on(later);
            let _ = OccurredAt::on(d).to_timestamp();
            if d.check_accepted("d").is_ok() {
                proptest::prop_assert_eq!(d.add_days(366).add_days(-366), d);
                proptest::prop_assert!(d.checked_add_years(200).is_some());
            }
        }
    }

    #[test]
    fn arithmetic_at_the_ends_of_the_calendar_saturates() {
        let last = Date::from_str("9999-12-31").unwrap();
        assert_eq!(last.add_days(1), Date::MAX);
        assert_eq!(last.checked_add_days(1), None);
        assert_eq!(Date::MIN.add_days(-1), Date::MIN);
        assert_eq!(last.add_years(1), Date::MAX);
        // The age on a date near the end of the calendar (the summary's `on=9999-03-01`).
        let dob = Date::from_str("2015-06-01").unwrap();
        assert_eq!(dob.age_on(Date::from_str("9999-03-01").unwrap()), 7983);
        assert_eq!(dob.age_on(last), 7984);
        // The last day of the calendar has no instant in London after 22:00 UTC on 30 December; it stays
        // at the latest there is.
        let end = OccurredAt::parse_field("t", "9999-12-31T23:00").unwrap();
        assert!(end.to_timestamp() > "9999-12-30T00:00:00Z".parse().unwrap());
    }

    #[test]
    fn the_accepted_range_is_1900_to_2200() {
        let d = |s: &str| Date::from_str(s).unwrap();
        assert!(d("1900-01-01").check_accepted("on").is_ok());
        assert!(d("2200-12-31").check_accepted("on").is_ok());
        let early = d("1899-12-31").check_accepted("on").unwrap_err();
        assert_eq!(early.field, "on");
        assert_eq!(
            early.message,
            "must be from 1900-01-01 to 2200-12-31 (got 1899-12-31)"
        );
        assert!(d("2201-01-01").check_accepted("on").is_err());
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(Timestamp::EARLIEST_ACCEPTED, t("1900-01-01T00:00:00Z"));
        assert_eq!(Timestamp::LATEST_ACCEPTED, t("2200-12-31T23:59:59.999999Z"));
        assert!(
            t("1899-12-31T23:59:59.999999Z")
                .check_accepted("known_at")
                .is_err()
        );
        assert!(t("2201-01-01T00:00:00Z").check_accepted("known_at").is_err());
        assert!(t("2024-03-01T09:00:00Z").check_accepted("known_at").is_ok());
    }

    #[test]
    fn local_times_skipped_by_the_clocks_going_forward_are_refused_and_repeated_ones_read_as_the_first() {
        let at = |s: &str| OccurredAt::parse_field("occurred_at", s).unwrap();
        let err = at("2024-03-31T01:30")
            .check_exists_in_england("occurred_at")
            .unwrap_err();
        assert_eq!(err.field, "occurred_at");
        assert!(
            err.message.contains("not a time that happened in England"),
            "{}",
            err.message
        );
        assert!(at("2024-03-31T00:59").check_exists_in_england("x").is_ok());
        assert!(at("2024-03-31T02:00").check_exists_in_england("x").is_ok());
        assert!(at("2024-03-31").check_exists_in_england("x").is_ok());
        // 01:30 on 27 October 2024 happened twice: the first, in BST, is 00:30 UTC.
        let twice = at("2024-10-27T01:30");
        assert!(twice.check_exists_in_england("x").is_ok());
        assert_eq!(twice.to_timestamp().to_string(), "2024-10-27T00:30:00Z");
    }

    #[test]
    fn england_date_follows_local_midnight() {
        // 23:30 UTC on 30 June is already 1 July in London (BST).
        let ts: Timestamp = "2014-06-30T23:30:00Z".parse().unwrap();
        assert_eq!(ts.england_date().to_string(), "2014-07-01");
    }
}
