//! Workflow building blocks for Tanu.
//!
//! * [`calendar`] — working days in the Republic of Kazakhstan (weekends,
//!   public holidays, moved days off, Government transfers loaded from
//!   `ops/calendar/kz-YYYY.toml`) and deadlines in Asia/Almaty time.
//! * [`ids`] — Kazakhstan identification numbers ([`Bin`]), from `tanu-core`.

pub mod calendar;
pub mod eds;
/// The identification numbers, defined once in `tanu-core`.
pub use tanu_core::ids;
pub mod onboarding;
pub mod temporal;

pub use calendar::{add_calendar_months, end_of_local_day, Calendar, CalendarError, DayKind, Transfer, WorkingDays, YearData, ALMATY};
pub use ids::{kz_check_digit_valid, Bin, BinError};
