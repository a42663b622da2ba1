//! Tests of the working-day calendar. Weekdays in comments were checked with
//! `date -d YYYY-MM-DD +%A`.

use super::*;
use chrono::Offset;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}")).with_timezone(&Utc)
}

fn cal() -> Calendar {
    Calendar::embedded()
}

fn wd(n: u32) -> WorkingDays {
    WorkingDays::new(n)
}

fn year(y: i32, kurban: &str) -> YearData {
    YearData { year: y, kurban_ait: d(kurban), source: "test".into(), verified: false, note: None, transfers: vec![] }
}

fn transfer(working: Option<&str>, off: Option<&str>) -> Transfer {
    Transfer { working: working.map(d), off: off.map(d), note: None }
}

fn inconsistent(data: YearData) -> String {
    match Calendar::from_years(vec![data]) {
        Err(CalendarError::Inconsistent(m)) => m,
        other => panic!("expected Inconsistent, got {other:?}"),
    }
}

#[test]
fn embedded_loads_all_years() {
    let c = cal();
    assert_eq!(c.years().collect::<Vec<_>>(), vec![2024, 2025, 2026, 2027]);
    let y25 = c.year_data(2025).unwrap();
    assert_eq!(y25.kurban_ait, d("2025-06-06"));
    assert_eq!(y25.transfers.len(), 1);
    assert!(c.year_data(2023).is_none());
    for y in 2024..=2027 {
        let data = c.year_data(y).unwrap();
        assert_eq!(data.year, y);
        assert!(!data.source.is_empty());
    }
}

#[test]
fn from_dir_reads_ops_calendar() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ops/calendar");
    let c = Calendar::from_dir(&dir).unwrap();
    let e = cal();
    assert_eq!(c.years().collect::<Vec<_>>(), e.years().collect::<Vec<_>>());
    for y in c.years() {
        assert_eq!(c.year_data(y), e.year_data(y));
    }
}

#[test]
fn holidays_2025_and_2026_are_not_working() {
    let c = cal();
    let rows = [
        // 2025
        ("2025-01-01", "New Year"),
        ("2025-01-02", "New Year"),
        ("2025-01-07", "Orthodox Christmas"),
        ("2025-03-08", "International Women's Day"),
        ("2025-03-21", "Nauryz meiramy"),
        ("2025-03-22", "Nauryz meiramy"),
        ("2025-03-23", "Nauryz meiramy"),
        ("2025-05-01", "Kazakhstan People's Unity Day"),
        ("2025-05-07", "Defender of the Fatherland Day"),
        ("2025-05-09", "Victory Day"),
        ("2025-06-06", KURBAN_AIT),
        ("2025-07-06", "Capital Day"),
        ("2025-08-30", "Constitution Day"),
        ("2025-10-25", "Republic Day"),
        ("2025-12-16", "Independence Day"),
        // 2026
        ("2026-01-01", "New Year"),
        ("2026-01-02", "New Year"),
        ("2026-01-07", "Orthodox Christmas"),
        ("2026-03-08", "International Women's Day"),
        ("2026-03-21", "Nauryz meiramy"),
        ("2026-03-22", "Nauryz meiramy"),
        ("2026-03-23", "Nauryz meiramy"),
        ("2026-05-01", "Kazakhstan People's Unity Day"),
        ("2026-05-07", "Defender of the Fatherland Day"),
        ("2026-05-09", "Victory Day"),
        ("2026-05-27", KURBAN_AIT),
        ("2026-07-06", "Capital Day"),
        ("2026-08-30", "Constitution Day"),
        ("2026-10-25", "Republic Day"),
        ("2026-12-16", "Independence Day"),
    ];
    for (date, name) in rows {
        assert_eq!(c.day_kind(d(date)).unwrap(), DayKind::Holiday(name), "{date}");
        assert!(!c.is_working_day(d(date)).unwrap(), "{date}");
    }
}

#[test]
fn moved_holidays_2024_to_2027() {
    let c = cal();
    // (moved day off, holiday it comes from)
    let rows = [
        ("2024-03-25", "2024-03-23"), // Sat Nauryz -> Mon
        ("2024-07-08", "2024-07-06"), // Sat Capital Day -> Mon
        ("2025-03-10", "2025-03-08"), // Sat -> Mon
        ("2025-03-24", "2025-03-22"), // Sat -> Mon
        ("2025-03-25", "2025-03-23"), // Sun -> Tue
        ("2025-07-07", "2025-07-06"), // Sun -> Mon
        ("2025-09-01", "2025-08-30"), // Sat -> Mon
        ("2025-10-27", "2025-10-25"), // Sat -> Mon
        ("2026-03-09", "2026-03-08"), // Sun -> Mon
        ("2026-03-24", "2026-03-21"), // Sat -> Tue (Mon 23 is Nauryz itself)
        ("2026-03-25", "2026-03-22"), // Sun -> Wed
        ("2026-05-11", "2026-05-09"), // Sat -> Mon
        ("2026-08-31", "2026-08-30"), // Sun -> Mon
        ("2026-10-26", "2026-10-25"), // Sun -> Mon
        ("2027-01-04", "2027-01-02"), // Sat -> Mon
        ("2027-03-24", "2027-03-21"), // Sun -> Wed (Mon 22, Tue 23 are Nauryz)
        ("2027-05-03", "2027-05-01"), // Sat -> Mon
        ("2027-05-10", "2027-05-09"), // Sun -> Mon
    ];
    for (moved, from) in rows {
        assert_eq!(c.day_kind(d(moved)).unwrap(), DayKind::MovedHoliday { from: d(from) }, "{moved}");
        assert!(!c.is_working_day(d(moved)).unwrap(), "{moved}");
    }
}

/// Exhaustive check: per year, exactly these weekdays are off, and exactly
/// these weekend days are working.
#[test]
fn full_year_tables() {
    let c = cal();
    let rows: [(i32, &[&str], &[&str]); 4] = [
        (2024, &["01-01", "01-02", "03-08", "03-21", "03-22", "03-25", "05-01", "05-07", "05-09", "07-08", "08-30", "10-25", "12-16"], &[]),
        (
            2025,
            &["01-01", "01-02", "01-03", "01-07", "03-10", "03-21", "03-24", "03-25", "05-01", "05-07", "05-09", "06-06", "07-07", "09-01", "10-27", "12-16"],
            &["01-04"],
        ),
        (2026, &["01-01", "01-02", "01-07", "03-09", "03-23", "03-24", "03-25", "05-01", "05-07", "05-11", "05-27", "07-06", "08-31", "10-26", "12-16"], &[]),
        (2027, &["01-01", "01-04", "01-07", "03-08", "03-22", "03-23", "03-24", "05-03", "05-07", "05-10", "07-06", "08-30", "10-25", "12-16"], &[]),
    ];
    for (y, weekdays_off, weekends_working) in rows {
        let mut off = Vec::new();
        let mut working = Vec::new();
        let mut day = NaiveDate::from_ymd_opt(y, 1, 1).unwrap();
        while day.year() == y {
            let w = c.is_working_day(day).unwrap();
            if !is_weekend(day) && !w {
                off.push(day.format("%m-%d").to_string());
            }
            if is_weekend(day) && w {
                working.push(day.format("%m-%d").to_string());
            }
            day = day.succ_opt().unwrap();
        }
        assert_eq!(off, weekdays_off, "{y} weekdays off");
        assert_eq!(working, weekends_working, "{y} weekends working");
    }
}

#[test]
fn religious_holidays_do_not_move() {
    let c = cal();
    // Kurban Ait 2024-06-16 is a Sunday: Monday 17 June 2024 is a working day.
    assert_eq!(c.day_kind(d("2024-06-16")).unwrap(), DayKind::Holiday(KURBAN_AIT));
    assert_eq!(c.day_kind(d("2024-06-17")).unwrap(), DayKind::Working);
    // Orthodox Christmas 2024-01-07 is a Sunday: Monday 8 January is working.
    assert_eq!(c.day_kind(d("2024-01-07")).unwrap(), DayKind::Holiday("Orthodox Christmas"));
    assert_eq!(c.day_kind(d("2024-01-08")).unwrap(), DayKind::Working);
    // Kurban Ait 2027-05-16 is a Sunday; Monday 17 May 2027 is working.
    assert!(c.is_working_day(d("2027-05-17")).unwrap());
    // 2027-01-07 is a Thursday anyway.
    assert!(!c.is_working_day(d("2027-01-07")).unwrap());
}

#[test]
fn transfer_2025() {
    let c = cal();
    assert_eq!(c.day_kind(d("2025-01-03")).unwrap(), DayKind::TransferOff); // Friday
    assert_eq!(c.day_kind(d("2025-01-04")).unwrap(), DayKind::TransferWorking); // Saturday
    assert!(!c.is_working_day(d("2025-01-03")).unwrap());
    assert!(c.is_working_day(d("2025-01-04")).unwrap());
    assert_eq!(c.day_kind(d("2025-01-05")).unwrap(), DayKind::Weekend); // Sunday
}

#[test]
fn weekends_and_plain_days() {
    let c = cal();
    for (date, kind) in [
        ("2025-06-07", DayKind::Weekend), // Saturday
        ("2025-06-08", DayKind::Weekend), // Sunday
        ("2025-06-09", DayKind::Working), // Monday
        ("2026-02-14", DayKind::Weekend), // Saturday
        ("2026-02-16", DayKind::Working), // Monday
        ("2024-12-17", DayKind::Working), // Tuesday after Independence Day
    ] {
        assert_eq!(c.day_kind(d(date)).unwrap(), kind, "{date}");
    }
}

#[test]
fn missing_year_is_an_error() {
    let c = cal();
    for (date, y) in [("2023-12-29", 2023), ("2028-01-03", 2028)] {
        assert!(matches!(
            c.is_working_day(d(date)),
            Err(CalendarError::YearNotLoaded(v)) if v == y
        ));
        assert!(matches!(c.day_kind(d(date)), Err(CalendarError::YearNotLoaded(v)) if v == y));
    }
    // Running off the end of the data is an error, not a guess.
    assert!(matches!(c.add_working_days(d("2027-12-30"), wd(2)), Err(CalendarError::YearNotLoaded(2028))));
    assert!(matches!(c.reminder_day(d("2024-01-03")), Err(CalendarError::YearNotLoaded(2023))));
    assert!(matches!(c.working_days_between(d("2023-12-20"), d("2024-01-10")), Err(CalendarError::YearNotLoaded(2023))));
    let msg = CalendarError::YearNotLoaded(2028).to_string();
    assert!(msg.contains("2028"), "{msg}");
}

#[test]
fn add_working_days_table() {
    let c = cal();
    let rows = [
        // (receipt, n, deadline day)
        ("2025-06-09", 0, "2025-06-09"), // n = 0 returns the start
        ("2025-06-07", 0, "2025-06-07"), // even on a weekend
        ("2025-06-09", 1, "2025-06-10"), // receipt day never counts
        ("2025-06-09", 2, "2025-06-11"),
        ("2025-06-13", 1, "2025-06-16"), // Fri -> Mon
        ("2025-06-14", 1, "2025-06-16"), // Sat -> Mon
        ("2025-06-05", 1, "2025-06-09"), // Kurban Ait Fri 6 June 2025
        // Year boundary: 1, 2 Jan 2026 Thu/Fri holidays, 3, 4 weekend.
        ("2025-12-31", 1, "2026-01-05"),
        ("2025-12-31", 2, "2026-01-06"),
        ("2025-12-31", 3, "2026-01-08"), // Wed 7 Jan is Christmas
        // 2026 -> 2027: 1 Jan Fri, 2 Sat (moved to Mon 4), 3 Sun.
        ("2026-12-31", 1, "2027-01-05"),
        // Start in an unloaded year is fine if no unloaded day is examined.
        ("2023-12-31", 1, "2024-01-03"),
        // Nauryz 2025: 21 Fri, 22/23 weekend moved to 24/25.
        ("2025-03-20", 1, "2025-03-26"),
        ("2025-03-20", 3, "2025-03-28"),
        ("2025-03-20", 4, "2025-03-31"),
        // Nauryz 2026: 21/22 weekend, 23 Mon, moved 24/25.
        ("2026-03-20", 1, "2026-03-26"),
        ("2026-03-20", 2, "2026-03-27"),
        ("2026-03-20", 3, "2026-03-30"),
        // 2025 transfer: Fri 3 Jan off, Sat 4 Jan working.
        ("2025-01-02", 1, "2025-01-04"),
        ("2025-01-02", 2, "2025-01-06"),
        ("2025-01-02", 3, "2025-01-08"), // Tue 7 Jan Christmas
        // May 2027: 1 Sat -> Mon 3, 7 Fri, 9 Sun -> Mon 10.
        ("2027-04-30", 1, "2027-05-04"),
        ("2027-05-06", 1, "2027-05-11"),
        // Long span: 10 working days.
        ("2025-05-02", 10, "2025-05-20"),
    ];
    for (start, n, expected) in rows {
        assert_eq!(c.add_working_days(d(start), wd(n)).unwrap(), d(expected), "{start} + {n}");
    }
}

#[test]
fn working_days_between_table() {
    let c = cal();
    let rows = [
        ("2025-03-20", "2025-03-31", 4), // 26, 27, 28, 31
        ("2025-03-31", "2025-03-20", -4),
        ("2025-03-20", "2025-03-20", 0),
        ("2025-01-02", "2025-01-06", 2), // Sat 4 (transfer), Mon 6
        ("2025-06-09", "2025-06-10", 1),
        ("2025-06-07", "2025-06-08", 0), // weekend
        ("2025-12-31", "2026-01-06", 2),
    ];
    for (from, to, n) in rows {
        assert_eq!(c.working_days_between(d(from), d(to)).unwrap(), n, "{from}..{to}");
    }
}

#[test]
fn between_inverts_add() {
    let c = cal();
    let mut start = d("2024-01-01");
    while start < d("2027-11-01") {
        for n in [0, 1, 2, 5, 10, 20] {
            let end = c.add_working_days(start, wd(n)).unwrap();
            assert_eq!(c.working_days_between(start, end).unwrap(), i64::from(n), "{start}+{n}");
            assert_eq!(c.working_days_between(end, start).unwrap(), -i64::from(n));
            assert!(n == 0 || c.is_working_day(end).unwrap());
        }
        start += chrono::Duration::days(3);
    }
}

#[test]
fn reminder_day_table() {
    let c = cal();
    let rows = [
        ("2025-06-11", "2025-06-10"),
        ("2025-06-16", "2025-06-13"), // Mon -> Fri
        ("2025-06-09", "2025-06-05"), // Mon after Kurban Ait Fri 6 June
        ("2025-03-26", "2025-03-20"), // after Nauryz 2025
        ("2025-01-06", "2025-01-04"), // working Saturday
        ("2026-01-05", "2025-12-31"), // across the year boundary
    ];
    for (deadline, reminder) in rows {
        assert_eq!(c.reminder_day(d(deadline)).unwrap(), d(reminder), "{deadline}");
    }
}

#[test]
fn deadline_after_in_utc() {
    let c = cal();
    let rows = [
        // Mon 10:00 UTC = 15:00 Almaty; +2 wd = Wed 11 June; ends 12 June 00:00 +05.
        ("2025-06-09T10:00:00Z", 2, "2025-06-11T19:00:00Z"),
        // Sun 20:00 UTC is already Mon 01:00 in Almaty.
        ("2025-06-08T20:00:00Z", 2, "2025-06-11T19:00:00Z"),
        // Mon 19:30 UTC is Tue 00:30 in Almaty -> Thu 12 June.
        ("2025-06-09T19:30:00Z", 2, "2025-06-12T19:00:00Z"),
        // Mon 18:59:59 UTC is still Mon 23:59:59 in Almaty.
        ("2025-06-09T18:59:59Z", 2, "2025-06-11T19:00:00Z"),
        // Over Kurban Ait (Fri 6 June 2025).
        ("2025-06-05T05:00:00Z", 1, "2025-06-09T19:00:00Z"),
        // n = 0: end of the local day of receipt.
        ("2025-06-09T10:00:00Z", 0, "2025-06-09T19:00:00Z"),
        // Before 1 March 2024 Almaty was UTC+6.
        ("2024-01-09T04:00:00Z", 1, "2024-01-10T18:00:00Z"),
    ];
    for (received, n, deadline) in rows {
        assert_eq!(c.deadline_after(utc(received), wd(n)).unwrap(), utc(deadline), "{received} + {n}");
    }
    let offset = ALMATY.offset_from_utc_datetime(&utc("2025-06-09T10:00:00Z").naive_utc()).fix();
    assert_eq!(offset.local_minus_utc(), 5 * 3600);
    assert!(matches!(c.deadline_after(utc("2027-12-30T10:00:00Z"), wd(2)), Err(CalendarError::YearNotLoaded(2028))));
}

#[test]
fn end_of_local_day_around_offset_change() {
    // Almaty switched from UTC+6 to UTC+5 on 1 March 2024; local 29 Feb 2024
    // lasted 25 hours and ended at 1 March 00:00 +05.
    assert_eq!(end_of_local_day(d("2024-02-28")).unwrap(), utc("2024-02-28T18:00:00Z"));
    assert_eq!(end_of_local_day(d("2024-02-29")).unwrap(), utc("2024-02-29T19:00:00Z"));
    assert_eq!(end_of_local_day(d("2024-03-01")).unwrap(), utc("2024-03-01T19:00:00Z"));
}

#[test]
fn calendar_months() {
    let rows = [
        // 30 Nov + 3 months clamps to 28 Feb (2026 not leap).
        ("2025-11-30T10:00:00Z", 3, "2026-02-28T19:00:00Z"),
        // 20:00 UTC on 29 Nov is 30 Nov 01:00 in Almaty.
        ("2025-11-29T20:00:00Z", 3, "2026-02-28T19:00:00Z"),
        // 2028 is a leap year: 29 Feb.
        ("2027-11-30T10:00:00Z", 3, "2028-02-29T19:00:00Z"),
        ("2025-01-31T10:00:00Z", 1, "2025-02-28T19:00:00Z"),
        ("2025-06-09T10:00:00Z", 3, "2025-09-09T19:00:00Z"),
        ("2025-06-09T10:00:00Z", 0, "2025-06-09T19:00:00Z"),
        // Across a year; weekends and holidays do not matter.
        ("2025-10-16T03:00:00Z", 3, "2026-01-16T19:00:00Z"),
    ];
    for (received, m, deadline) in rows {
        assert_eq!(add_calendar_months(utc(received), m), utc(deadline), "{received} + {m}");
    }
}

#[test]
fn working_days_newtype() {
    let n: WorkingDays = "10".parse().unwrap();
    assert_eq!(n, WorkingDays::new(10));
    assert_eq!(n.get(), 10);
    assert_eq!(n.to_string(), "10");
    assert!("-1".parse::<WorkingDays>().is_err());
    assert!("ten".parse::<WorkingDays>().is_err());
    assert!("".parse::<WorkingDays>().is_err());
}

const GOOD_2025: &str = r#"
year = 2025
kurban_ait = "2025-06-06"
source = "test"
verified = true

[[transfer]]
working = "2025-01-04"
off = "2025-01-03"
note = "x"
"#;

#[test]
fn parse_year_data() {
    let y = YearData::from_toml_str(GOOD_2025).unwrap();
    assert_eq!(y.year, 2025);
    assert!(y.verified);
    assert_eq!(y.transfers, vec![Transfer { working: Some(d("2025-01-04")), off: Some(d("2025-01-03")), note: Some("x".into()) }]);

    // Only `off`, only `working`, and native TOML dates are accepted.
    let y = YearData::from_toml_str(
        "year = 2026\nkurban_ait = 2026-05-27\nsource = \"s\"\nverified = false\n\
         [[transfer]]\noff = 2026-01-05\n[[transfer]]\nworking = \"2026-01-10\"\n",
    )
    .unwrap();
    assert_eq!(y.kurban_ait, d("2026-05-27"));
    assert_eq!(y.transfers[0], transfer(None, Some("2026-01-05")));
    assert_eq!(y.transfers[1], transfer(Some("2026-01-10"), None));
    let c = Calendar::from_years(vec![y]).unwrap();
    assert_eq!(c.day_kind(d("2026-01-05")).unwrap(), DayKind::TransferOff);
    assert_eq!(c.day_kind(d("2026-01-10")).unwrap(), DayKind::TransferWorking);
}

#[test]
fn parse_errors() {
    let base = "year = 2025\nsource = \"s\"\nverified = false\n";
    let bad = [
        ("not toml at all [", ""),
        ("year = 2025\nsource = \"s\"\nverified = false\n", "kurban_ait"),
        (&format!("{base}kurban_ait = \"2025-02-30\"\n"), "2025-02-30"),
        (&format!("{base}kurban_ait = \"06.06.2025\"\n"), "06.06.2025"),
        (&format!("{base}kurban_ait = 2025-06-06T10:00:00\n"), "without time"),
        (&format!("{base}kurban_ait = 20250606\n"), ""),
        // Typo in the table name is not silently ignored.
        (&format!("{base}kurban_ait = \"2025-06-06\"\n[[transfers]]\noff = \"2025-01-03\"\n"), "transfers"),
        (&format!("{base}kurban_ait = \"2025-06-06\"\n[[transfer]]\nof = \"2025-01-03\"\n"), "of"),
        ("year = \"2025\"\nkurban_ait = \"2025-06-06\"\nsource = \"s\"\nverified = false\n", ""),
    ];
    for (text, needle) in bad {
        match YearData::from_toml_str(text) {
            Err(CalendarError::Parse { file, message }) => {
                assert_eq!(file, "<string>");
                assert!(message.contains(needle), "{message:?} should contain {needle:?}");
            }
            other => panic!("{text:?}: expected Parse error, got {other:?}"),
        }
    }
    // The file name is reported.
    match Calendar::from_files([("kz-2025.toml", "year = ")]) {
        Err(e @ CalendarError::Parse { .. }) => {
            assert!(e.to_string().contains("kz-2025.toml"), "{e}");
        }
        other => panic!("expected Parse error, got {other:?}"),
    }
}

#[test]
fn inconsistent_data() {
    let with = |t: Transfer| {
        let mut y = year(2025, "2025-06-06");
        y.transfers.push(t);
        y
    };
    let rows: [(YearData, &str); 12] = [
        (with(transfer(Some("2025-01-03"), None)), "not a Saturday or Sunday"),
        (with(transfer(Some("2025-03-08"), None)), "is a holiday"),
        (with(transfer(None, Some("2025-01-04"))), "already a day off"),
        (with(transfer(None, Some("2025-05-01"))), "already a holiday"),
        (with(transfer(None, Some("2025-06-06"))), "already a holiday"),
        (with(transfer(None, Some("2025-03-10"))), "moved day off"),
        (with(transfer(None, None)), "neither"),
        (with(transfer(None, Some("2026-01-05"))), "not in year"),
        (with(transfer(Some("2024-12-28"), None)), "not in year"),
        (year(2025, "2026-05-27"), "not in year"),
        (
            {
                let mut y = with(transfer(Some("2025-01-04"), Some("2025-01-03")));
                y.transfers.push(transfer(None, Some("2025-01-03")));
                y
            },
            "more than one",
        ),
        (
            {
                let mut y = with(transfer(Some("2025-01-04"), None));
                y.transfers.push(transfer(Some("2025-01-04"), None));
                y
            },
            "more than one",
        ),
    ];
    for (data, needle) in rows {
        let m = inconsistent(data);
        assert!(m.contains(needle), "{m:?} should contain {needle:?}");
    }
    // A year loaded twice.
    let m = match Calendar::from_years(vec![year(2025, "2025-06-06"), year(2025, "2025-06-06")]) {
        Err(CalendarError::Inconsistent(m)) => m,
        other => panic!("{other:?}"),
    };
    assert!(m.contains("twice"), "{m}");
    // Year field not matching the file name.
    let text = GOOD_2025.replace("year = 2025", "year = 2026");
    assert!(matches!(
        Calendar::from_files([("kz-2025.toml", text.as_str())]),
        Err(CalendarError::Inconsistent(m)) if m.contains("declares year = 2026")
    ));
    // A kz-*.toml file with a bad name.
    assert!(matches!(
        Calendar::from_files([("kz-draft.toml", GOOD_2025)]),
        Err(CalendarError::Inconsistent(m)) if m.contains("kz-draft.toml")
    ));
}

/// A scratch directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("tanu-cal-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn from_dir_errors_and_filtering() {
    // Missing directory -> Io.
    let missing = std::env::temp_dir().join("tanu-cal-does-not-exist-xyz");
    assert!(matches!(Calendar::from_dir(&missing), Err(CalendarError::Io { .. })));

    // Empty directory (other files ignored) -> Inconsistent.
    let t = TempDir::new("empty");
    std::fs::write(t.0.join("README.md"), "x").unwrap();
    assert!(matches!(Calendar::from_dir(&t.0), Err(CalendarError::Inconsistent(_))));

    // A good file plus an unrelated one.
    let t = TempDir::new("good");
    std::fs::write(t.0.join("kz-2025.toml"), GOOD_2025).unwrap();
    std::fs::write(t.0.join("notes.txt"), "ignored").unwrap();
    let c = Calendar::from_dir(&t.0).unwrap();
    assert_eq!(c.years().collect::<Vec<_>>(), vec![2025]);
    assert!(c.is_working_day(d("2025-01-04")).unwrap());
    assert!(matches!(c.is_working_day(d("2026-01-05")), Err(CalendarError::YearNotLoaded(2026))));

    // Year mismatch between file name and contents.
    let t = TempDir::new("mismatch");
    std::fs::write(t.0.join("kz-2024.toml"), GOOD_2025).unwrap();
    assert!(matches!(Calendar::from_dir(&t.0), Err(CalendarError::Inconsistent(_))));

    // Parse error carries the file name.
    let t = TempDir::new("parse");
    std::fs::write(t.0.join("kz-2025.toml"), "year = 2025\n").unwrap();
    match Calendar::from_dir(&t.0) {
        Err(CalendarError::Parse { file, .. }) => assert_eq!(file, "kz-2025.toml"),
        other => panic!("{other:?}"),
    }
}
