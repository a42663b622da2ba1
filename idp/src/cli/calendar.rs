//! `tanu calendar`: the Kazakhstan working-day calendar from the command line.
use chrono::NaiveDate;
use clap::Subcommand;
use tanu_workflows::{Calendar, WorkingDays};

#[derive(Subcommand)]
pub enum CalendarCommand {
    /// The date N working days after DATE (the day itself never counts).
    AddWorkingDays { date: NaiveDate, n: WorkingDays },
    /// `true` or `false`.
    IsWorkingDay { date: NaiveDate },
}

/// The calendar: `ops/calendar/` when present (the operator's current data),
/// else the copy built into the binary.
pub fn calendar() -> anyhow::Result<Calendar> {
    let dir = std::path::Path::new("ops/calendar");
    Ok(if dir.is_dir() { Calendar::from_dir(dir)? } else { Calendar::embedded() })
}

pub fn run(cmd: CalendarCommand) -> anyhow::Result<()> {
    let cal = calendar()?;
    match cmd {
        CalendarCommand::AddWorkingDays { date, n } => println!("{}", cal.add_working_days(date, n)?),
        CalendarCommand::IsWorkingDay { date } => println!("{}", cal.is_working_day(date)?),
    }
    Ok(())
}
