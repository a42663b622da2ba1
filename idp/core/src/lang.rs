//! The three languages of every page, mail and message: Kazakh (the
//! default), Russian and English.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Lang {
    #[default]
    Kk,
    Ru,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Kk => "kk",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// A stored language code (`kk`, `ru`, `en`); Kazakh for anything else.
    pub fn from_code(code: &str) -> Lang {
        Lang::from_tag(code).unwrap_or_default()
    }

    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_', ';']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "kk" | "kz" => Some(Lang::Kk),
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// First supported tag of `ui_locales` (space-separated, in order of
    /// preference), else of `Accept-Language` (comma-separated; q-values are
    /// taken in the order given, as browsers send them sorted), else Kazakh.
    pub fn negotiate(ui_locales: Option<&str>, accept_language: Option<&str>) -> Lang {
        ui_locales
            .and_then(|s| s.split(' ').find_map(Lang::from_tag))
            .or_else(|| accept_language.and_then(|s| s.split(',').find_map(Lang::from_tag)))
            .unwrap_or_default()
    }
}
