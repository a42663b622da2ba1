//! Working days in the Republic of Kazakhstan, and deadlines computed from them.
//!
//! # Legal basis
//!
//! * **Weekends** — Labour Code of the Republic of Kazakhstan, art. 84: with a
//!   five-day working week, Saturday and Sunday are days off.
//! * **Public holidays** — Law of the Republic of Kazakhstan "On holidays in the
//!   Republic of Kazakhstan" of 13 December 2001 No. 267-II (as amended): the
//!   list of holidays that are days off, and the rule that when a day off
//!   (Saturday/Sunday) coincides with a holiday, the day off moves to the next
//!   working day — **except for religious holidays** (Orthodox Christmas,
//!   7 January, and the first day of Kurban Ait).
//! * **Government transfers** of days off (a Saturday/Sunday declared a working
//!   day, a weekday declared a day off) are made each year by resolution of the
//!   Government. They are *data*, not code, and are loaded from
//!   `ops/calendar/kz-YYYY.toml` (see [`YearData`]); so is the date of Kurban
//!   Ait, which moves every year.
//!
//! # Rules implemented
//!
//! * Saturday and Sunday are days off ([`DayKind::Weekend`]).
//! * Holidays ([`DayKind::Holiday`]): 1–2 January (New Year), 7 January
//!   (Orthodox Christmas, religious), 8 March, 21–23 March (Nauryz), 1 May,
//!   7 May, 9 May, 6 July, 30 August, 25 October (Republic Day), 16 December
//!   (Independence Day), and the first day of Kurban Ait (religious).
//! * A secular holiday falling on a Saturday or Sunday gives a moved day off
//!   ([`DayKind::MovedHoliday`]) on the next day that is not a weekend day, not
//!   a holiday and not an already-moved day off. Moves are processed in date
//!   order and computed from the law alone, before transfers are applied (a
//!   transfer contradicting a moved day is rejected as inconsistent).
//!   Religious holidays never move.
//! * Transfers from the year file: [`DayKind::TransferOff`] (weekday declared
//!   off) and [`DayKind::TransferWorking`] (weekend day declared a working day;
//!   it counts as a working day).
//!
//! A year without a data file is an error ([`CalendarError::YearNotLoaded`]):
//! a deadline must never silently ignore a year's transfers or Kurban Ait.
//!
//! # Deadlines in time
//!
//! Deadline instants are returned as `DateTime<Utc>` and are **exclusive**: a
//! deadline `D` means "must happen strictly before `D`". `D` is the local
//! midnight in Almaty ([`ALMATY`]) that ends the last allowed local day.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, Datelike, LocalResult, Months, NaiveDate, TimeZone, Utc, Weekday};
use serde::{Deserialize, Deserializer, Serialize};

/// Time zone used for all deadlines (Asia/Almaty, UTC+5 since 1 March 2024).
pub const ALMATY: chrono_tz::Tz = chrono_tz::Asia::Almaty;

/// Name of the first day of Kurban Ait (date from the year file).
pub const KURBAN_AIT: &str = "Kurban Ait";

/// Fixed-date holidays: (month, day, name, religious).
const FIXED_HOLIDAYS: &[(u32, u32, &str, bool)] = &[
    (1, 1, "New Year", false),
    (1, 2, "New Year", false),
    (1, 7, "Orthodox Christmas", true),
    (3, 8, "International Women's Day", false),
    (3, 21, "Nauryz meiramy", false),
    (3, 22, "Nauryz meiramy", false),
    (3, 23, "Nauryz meiramy", false),
    (5, 1, "Kazakhstan People's Unity Day", false),
    (5, 7, "Defender of the Fatherland Day", false),
    (5, 9, "Victory Day", false),
    (7, 6, "Capital Day", false),
    (8, 30, "Constitution Day", false),
    (10, 25, "Republic Day", false),
    (12, 16, "Independence Day", false),
];

/// The embedded year files: (file name, contents).
pub const EMBEDDED_FILES: &[(&str, &str)] = &[
    ("kz-2024.toml", include_str!("../../ops/calendar/kz-2024.toml")),
    ("kz-2025.toml", include_str!("../../ops/calendar/kz-2025.toml")),
    ("kz-2026.toml", include_str!("../../ops/calendar/kz-2026.toml")),
    ("kz-2027.toml", include_str!("../../ops/calendar/kz-2027.toml")),
];

/// Errors of the calendar.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// No data file was loaded for this year, so its transfers and the date of
    /// Kurban Ait are unknown.
    #[error("no working-day calendar loaded for year {0}")]
    YearNotLoaded(i32),
    /// A year file could not be parsed.
    #[error("cannot parse calendar file {file}: {message}")]
    Parse {
        /// File name (or `<string>`).
        file: String,
        /// Parser message.
        message: String,
    },
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path being read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The data contradicts itself or the rules (e.g. a `working` transfer on a
    /// weekday, an `off` transfer on a day that is already off, a `year` field
    /// not matching the file name, a year loaded twice).
    #[error("inconsistent calendar data: {0}")]
    Inconsistent(String),
    /// A date computation left chrono's supported range.
    #[error("date out of range")]
    OutOfRange,
}

/// A number of working days (e.g. "within 10 working days").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkingDays(u32);

impl WorkingDays {
    /// Wraps a number of working days.
    pub const fn new(n: u32) -> Self {
        WorkingDays(n)
    }

    /// The number of working days.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl FromStr for WorkingDays {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(WorkingDays)
    }
}

impl fmt::Display for WorkingDays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// What kind of day a date is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayKind {
    /// An ordinary working day (Monday–Friday).
    Working,
    /// Saturday or Sunday (Labour Code art. 84).
    Weekend,
    /// A public holiday (its name). Takes precedence over `Weekend`.
    Holiday(&'static str),
    /// A weekday that is off because the secular holiday on `from` fell on a
    /// Saturday or Sunday.
    MovedHoliday {
        /// The holiday whose day off was moved here.
        from: NaiveDate,
    },
    /// A weekday declared a day off by the Government.
    TransferOff,
    /// A Saturday or Sunday declared a working day by the Government; it is a
    /// working day.
    TransferWorking,
}

impl DayKind {
    /// Whether this day counts as a working day.
    pub fn is_working(&self) -> bool {
        matches!(self, DayKind::Working | DayKind::TransferWorking)
    }
}

/// One government transfer. At least one of `working` / `off` must be set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// A Saturday or Sunday declared a working day.
    #[serde(default, deserialize_with = "de_opt_date")]
    pub working: Option<NaiveDate>,
    /// A weekday declared a day off.
    #[serde(default, deserialize_with = "de_opt_date")]
    pub off: Option<NaiveDate>,
    /// Free text.
    #[serde(default)]
    pub note: Option<String>,
}

/// The data of one year, as stored in `ops/calendar/kz-YYYY.toml`.
///
/// ```toml
/// year = 2025
/// kurban_ait = "2025-06-06"        # first day of Kurban Ait
/// source = "Resolution ... / unverified"
/// verified = false
/// note = "optional free text"
///
/// [[transfer]]
/// working = "2025-01-04"           # Saturday declared a working day (optional)
/// off = "2025-01-03"               # weekday declared a day off (optional)
/// note = "optional"
/// ```
///
/// Dates may be written as strings (`"2025-06-06"`) or as TOML local dates
/// (`2025-06-06`). Unknown keys are rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearData {
    /// The calendar year.
    pub year: i32,
    /// First day of Kurban Ait (religious holiday, never moved).
    #[serde(deserialize_with = "de_date")]
    pub kurban_ait: NaiveDate,
    /// Legal source of the transfers and the Kurban Ait date, or "unverified".
    pub source: String,
    /// Whether the data has been checked against the official source.
    pub verified: bool,
    /// Free text.
    #[serde(default)]
    pub note: Option<String>,
    /// Government transfers of days off.
    #[serde(default, rename = "transfer")]
    pub transfers: Vec<Transfer>,
}

impl YearData {
    /// Parses a year file. Only the syntax is checked here; the consistency
    /// with the rules is checked when the year is put into a [`Calendar`].
    pub fn from_toml_str(s: &str) -> Result<YearData, CalendarError> {
        Self::from_toml_named(s, "<string>")
    }

    fn from_toml_named(s: &str, file: &str) -> Result<YearData, CalendarError> {
        toml::from_str(s).map_err(|e| CalendarError::Parse {
            file: file.to_owned(),
            message: e.message().to_owned() + &e.span().map(|sp| format!(" (at byte {})", sp.start)).unwrap_or_default(),
        })
    }
}

/// A date written either as a string or as a TOML local date.
#[derive(Deserialize)]
#[serde(untagged)]
enum DateRepr {
    Str(String),
    Toml(toml::value::Datetime),
}

impl DateRepr {
    fn into_date(self) -> Result<NaiveDate, String> {
        match self {
            DateRepr::Str(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|e| format!("invalid date {s:?} (expected YYYY-MM-DD): {e}")),
            DateRepr::Toml(dt) => match (dt.date, dt.time, dt.offset) {
                (Some(d), None, None) => {
                    NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day)).ok_or_else(|| format!("invalid date {dt}"))
                }
                _ => Err(format!("expected a date without time, got {dt}")),
            },
        }
    }
}

fn de_date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    DateRepr::deserialize(d)?.into_date().map_err(serde::de::Error::custom)
}

fn de_opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    de_date(d).map(Some)
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

fn next_day(d: NaiveDate) -> Result<NaiveDate, CalendarError> {
    d.succ_opt().ok_or(CalendarError::OutOfRange)
}

fn prev_day(d: NaiveDate) -> Result<NaiveDate, CalendarError> {
    d.pred_opt().ok_or(CalendarError::OutOfRange)
}

/// A loaded year: its data and every day that is not a plain weekday/weekend.
#[derive(Debug, Clone)]
struct YearTable {
    data: YearData,
    special: BTreeMap<NaiveDate, DayKind>,
}

impl YearTable {
    fn build(data: YearData) -> Result<YearTable, CalendarError> {
        let holidays = Self::holidays(&data)?;
        let moved = Self::moved_days_off(data.year, &holidays)?;
        let (off, working) = Self::transfers(&data, &holidays, &moved)?;
        let mut special = BTreeMap::new();
        for (d, (name, _)) in holidays {
            special.insert(d, DayKind::Holiday(name));
        }
        for (d, from) in moved {
            special.insert(d, DayKind::MovedHoliday { from });
        }
        for d in off {
            special.insert(d, DayKind::TransferOff);
        }
        for d in working {
            special.insert(d, DayKind::TransferWorking);
        }
        Ok(YearTable { data, special })
    }

    /// The year's holidays: date -> (name, religious).
    fn holidays(data: &YearData) -> Result<Holidays, CalendarError> {
        let y = data.year;
        let mut holidays = Holidays::new();
        for &(m, d, name, religious) in FIXED_HOLIDAYS {
            let date = NaiveDate::from_ymd_opt(y, m, d).ok_or(CalendarError::OutOfRange)?;
            holidays.insert(date, (name, religious));
        }
        in_year(y, "kurban_ait", data.kurban_ait)?;
        // If Kurban Ait coincides with a secular holiday the secular entry is
        // kept (it still moves when on a weekend). Check such a year by hand.
        holidays.entry(data.kurban_ait).or_insert((KURBAN_AIT, true));
        Ok(holidays)
    }

    /// Moved days off for secular holidays on a weekend, in date order
    /// (moved day -> the holiday). Computed from the law alone; transfers
    /// must not contradict them.
    fn moved_days_off(y: i32, holidays: &Holidays) -> Result<BTreeMap<NaiveDate, NaiveDate>, CalendarError> {
        let mut moved: BTreeMap<NaiveDate, NaiveDate> = BTreeMap::new();
        for (&h, &(_, religious)) in holidays {
            if religious || !is_weekend(h) {
                continue;
            }
            let mut t = next_day(h)?;
            while is_weekend(t) || holidays.contains_key(&t) || moved.contains_key(&t) {
                t = next_day(t)?;
            }
            if t.year() != y {
                return Err(inconsistent(y, format!("the day off for the holiday on {h} would move into the next year ({t})")));
            }
            moved.insert(t, h);
        }
        Ok(moved)
    }

    /// The government's transfers, checked against the holidays and moved
    /// days: (weekdays made off, weekend days made working).
    fn transfers(
        data: &YearData,
        holidays: &Holidays,
        moved: &BTreeMap<NaiveDate, NaiveDate>,
    ) -> Result<(BTreeSet<NaiveDate>, BTreeSet<NaiveDate>), CalendarError> {
        let y = data.year;
        let mut off: BTreeSet<NaiveDate> = BTreeSet::new();
        let mut working: BTreeSet<NaiveDate> = BTreeSet::new();
        for t in &data.transfers {
            if t.working.is_none() && t.off.is_none() {
                return Err(inconsistent(y, "a [[transfer]] has neither `working` nor `off`".into()));
            }
            if let Some(w) = t.working {
                in_year(y, "transfer.working", w)?;
                if !is_weekend(w) {
                    return Err(inconsistent(y, format!("transfer.working {w} is a {}, not a Saturday or Sunday", w.weekday())));
                }
                if let Some((name, _)) = holidays.get(&w) {
                    return Err(inconsistent(y, format!("transfer.working {w} is a holiday ({name})")));
                }
                if off.contains(&w) || !working.insert(w) {
                    return Err(inconsistent(y, format!("{w} appears in more than one transfer")));
                }
            }
            if let Some(o) = t.off {
                in_year(y, "transfer.off", o)?;
                if is_weekend(o) {
                    return Err(inconsistent(y, format!("transfer.off {o} is a {}, already a day off", o.weekday())));
                }
                if let Some((name, _)) = holidays.get(&o) {
                    return Err(inconsistent(y, format!("transfer.off {o} is already a holiday ({name})")));
                }
                if let Some(from) = moved.get(&o) {
                    return Err(inconsistent(y, format!("transfer.off {o} is already the moved day off for the holiday on {from}")));
                }
                if working.contains(&o) || !off.insert(o) {
                    return Err(inconsistent(y, format!("{o} appears in more than one transfer")));
                }
            }
        }
        Ok((off, working))
    }
}

/// A year's holidays: date -> (name, religious).
type Holidays = BTreeMap<NaiveDate, (&'static str, bool)>;

fn inconsistent(y: i32, m: String) -> CalendarError {
    CalendarError::Inconsistent(format!("{y}: {m}"))
}

fn in_year(y: i32, what: &str, d: NaiveDate) -> Result<(), CalendarError> {
    if d.year() == y {
        Ok(())
    } else {
        Err(inconsistent(y, format!("{what} {d} is not in year {y}")))
    }
}

/// The working-day calendar for the loaded years.
#[derive(Debug, Clone)]
pub struct Calendar {
    years: BTreeMap<i32, YearTable>,
}

impl Calendar {
    /// Builds a calendar from parsed year data. Fails with
    /// [`CalendarError::Inconsistent`] on contradictory data or a year given
    /// twice.
    pub fn from_years(years: Vec<YearData>) -> Result<Calendar, CalendarError> {
        let mut map = BTreeMap::new();
        for data in years {
            let y = data.year;
            if map.contains_key(&y) {
                return Err(CalendarError::Inconsistent(format!("year {y} loaded twice")));
            }
            map.insert(y, YearTable::build(data)?);
        }
        Ok(Calendar { years: map })
    }

    /// Reads every `kz-YYYY.toml` file in `dir`. Other files are ignored; a
    /// `kz-*.toml` file whose name is not `kz-<year>.toml`, or whose `year`
    /// differs from the name, is an error, and so is a directory without any
    /// year file.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Calendar, CalendarError> {
        let files = year_files(dir)?;
        Self::from_files(files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
    }

    /// The calendar built from the year files compiled into the binary
    /// ([`EMBEDDED_FILES`]).
    ///
    /// # Panics
    ///
    /// Only if the embedded files are invalid, which the crate's tests rule out.
    #[allow(clippy::expect_used, reason = "the embedded files are the crate's own, checked by its tests (# Panics)")]
    pub fn embedded() -> Calendar {
        Self::from_files(EMBEDDED_FILES.iter().copied()).expect("embedded ops/calendar files are valid")
    }

    /// The calendar from `(file name, TOML text)` pairs, as [`year_files`] reads them.
    pub fn from_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Calendar, CalendarError> {
        let mut years = Vec::new();
        for (name, text) in files {
            let file_year: i32 = name
                .strip_prefix("kz-")
                .and_then(|s| s.strip_suffix(".toml"))
                .filter(|s| s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| CalendarError::Inconsistent(format!("calendar file name {name:?} is not kz-YYYY.toml")))?;
            let data = YearData::from_toml_named(text, name)?;
            if data.year != file_year {
                return Err(CalendarError::Inconsistent(format!("{name} declares year = {}", data.year)));
            }
            years.push(data);
        }
        Self::from_years(years)
    }

    /// The loaded years, ascending.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.keys().copied()
    }

    /// The data of a loaded year (e.g. to warn when `verified` is false).
    pub fn year_data(&self, year: i32) -> Option<&YearData> {
        self.years.get(&year).map(|t| &t.data)
    }

    /// What kind of day `date` is. Errors if its year is not loaded.
    pub fn day_kind(&self, date: NaiveDate) -> Result<DayKind, CalendarError> {
        let table = self.years.get(&date.year()).ok_or(CalendarError::YearNotLoaded(date.year()))?;
        Ok(match table.special.get(&date) {
            Some(k) => k.clone(),
            None if is_weekend(date) => DayKind::Weekend,
            None => DayKind::Working,
        })
    }

    /// Whether `date` is a working day. Errors if its year is not loaded.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        Ok(self.day_kind(date)?.is_working())
    }

    /// The `n`-th working day strictly after `start` ("within N working days
    /// from receipt": the day of receipt never counts, even if it is a working
    /// day). `n = 0` returns `start`.
    pub fn add_working_days(&self, start: NaiveDate, n: WorkingDays) -> Result<NaiveDate, CalendarError> {
        let mut d = start;
        let mut left = n.get();
        while left > 0 {
            d = next_day(d)?;
            if self.is_working_day(d)? {
                left -= 1;
            }
        }
        Ok(d)
    }

    /// Number of working days `d` with `from < d <= to`; negative (the count
    /// of working days with `to < d <= from`) if `to < from`. Useful for
    /// "working days left": `working_days_between(today, deadline_day)`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> Result<i64, CalendarError> {
        let (lo, hi, sign) = if to >= from { (from, to, 1) } else { (to, from, -1) };
        let mut count = 0i64;
        let mut d = lo;
        while d < hi {
            d = next_day(d)?;
            if self.is_working_day(d)? {
                count += 1;
            }
        }
        Ok(sign * count)
    }

    /// The last working day strictly before `deadline_day` (the day to send
    /// a reminder).
    pub fn reminder_day(&self, deadline_day: NaiveDate) -> Result<NaiveDate, CalendarError> {
        let mut d = prev_day(deadline_day)?;
        while !self.is_working_day(d)? {
            d = prev_day(d)?;
        }
        Ok(d)
    }

    /// Deadline instant for "within `n` working days from receipt": the local
    /// Almaty date of `received_at`, plus `n` working days
    /// ([`Calendar::add_working_days`]), and the deadline is the **end** of
    /// that local day, i.e. the next local midnight, in UTC. The returned
    /// instant is exclusive: the action must happen strictly before it.
    pub fn deadline_after(&self, received_at: DateTime<Utc>, n: WorkingDays) -> Result<DateTime<Utc>, CalendarError> {
        let local = received_at.with_timezone(&ALMATY).date_naive();
        let day = self.add_working_days(local, n)?;
        end_of_local_day(day)
    }
}

/// The end of the Almaty local day `date`, i.e. the local midnight that
/// starts the next day, in UTC (exclusive: "before this instant").
///
/// If that midnight is ambiguous the later instant is used; if it does not
/// exist (clock jumped over it) the offset in force at that wall-clock time
/// interpreted as UTC is used. Neither happens for Asia/Almaty after 2024.
pub fn end_of_local_day(date: NaiveDate) -> Result<DateTime<Utc>, CalendarError> {
    let midnight = next_day(date)?.and_hms_opt(0, 0, 0).ok_or(CalendarError::OutOfRange)?;
    match ALMATY.from_local_datetime(&midnight) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(_, later) => Ok(later.with_timezone(&Utc)),
        LocalResult::None => {
            use chrono::Offset;
            let offset = ALMATY.offset_from_utc_datetime(&midnight).fix();
            Ok(Utc.from_utc_datetime(&(midnight - offset)))
        }
    }
}

/// Deadline instant for "at most `months` calendar months from receipt": the
/// local Almaty date of `received_at` plus `months` (clamped to the end of a
/// shorter month, e.g. 30 November + 3 months = 28/29 February), and the
/// deadline is the end of that local day ([`end_of_local_day`]), in UTC.
/// Working days play no role.
///
/// # Panics
///
/// Only if the result is outside chrono's date range (year ±262,000).
#[allow(clippy::expect_used, reason = "within chrono's range for any date of the procedure (# Panics)")]
pub fn add_calendar_months(received_at: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    let local = received_at.with_timezone(&ALMATY).date_naive();
    let day = local.checked_add_months(Months::new(months)).expect("date within chrono's range");
    end_of_local_day(day).expect("date within chrono's range")
}

/// The `kz-YYYY.toml` files of `dir` as `(name, text)`, sorted by name (the
/// workflow carries the texts in its input, so that a history replays with
/// the calendar it ran with). A directory without any is an error.
pub fn year_files(dir: impl AsRef<Path>) -> Result<Vec<(String, String)>, CalendarError> {
    let dir = dir.as_ref();
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CalendarError::Io { path, source }
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("kz-") && name.ends_with(".toml") {
            let path = entry.path();
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            files.push((name, text));
        }
    }
    if files.is_empty() {
        return Err(CalendarError::Inconsistent(format!("no kz-YYYY.toml files in {}", dir.display())));
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests;
