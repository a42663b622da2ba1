//! The three languages of the UI: Kazakh (the state language, default),
//! Russian and English. Chosen from `ui_locales`, then `Accept-Language`.
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

    fn from_tag(tag: &str) -> Option<Lang> {
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

    pub fn from_request(req: &poem::Request) -> Lang {
        let q = req.uri().query().unwrap_or("");
        let explicit = url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "lang" || k == "ui_locales")
            .map(|(_, v)| v.into_owned());
        let accept = req.headers().get("accept-language").and_then(|v| v.to_str().ok());
        Lang::negotiate(explicit.as_deref(), accept)
    }
}

macro_rules! messages {
    ($($key:ident { kk: $kk:literal, ru: $ru:literal, en: $en:literal })*) => {
        /// Every user-facing text, in three languages.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(non_camel_case_types)]
        pub enum Msg { $($key),* }
        impl Msg {
            pub fn text(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $( (Msg::$key, Lang::Kk) => $kk, (Msg::$key, Lang::Ru) => $ru, (Msg::$key, Lang::En) => $en, )*
                }
            }
        }
    };
}

messages! {
    service_name { kk: "Tanu — ұлттық биометриялық кіру", ru: "Tanu — национальный биометрический вход", en: "Tanu — national biometric sign-in" }
    error_title { kk: "Сұрауды орындау мүмкін емес", ru: "Запрос не может быть выполнен", en: "The request cannot be completed" }
    error_unknown_client { kk: "Бұл жүйе Tanu-да тіркелмеген немесе өшірілген.", ru: "Эта система не зарегистрирована в Tanu или отключена.", en: "This system is not registered with Tanu or has been disabled." }
    error_redirect_uri { kk: "Қайта бағыттау мекенжайы жүйе үшін тіркелгенмен сәйкес келмейді. Қауіпсіздік үшін сіз ол жаққа жіберілмейсіз.", ru: "Адрес возврата не совпадает с зарегистрированным для этой системы. В целях безопасности вы не будете туда перенаправлены.", en: "The return address does not match the one registered for this system. For your safety you will not be sent there." }
    error_bad_request { kk: "Сұрау дұрыс емес.", ru: "Некорректный запрос.", en: "The request is malformed." }
    error_expired { kk: "Кіру сессиясының мерзімі өтті немесе ол басқа браузерде басталған. Жүйеге қайта кіріп көріңіз.", ru: "Сессия входа истекла или была начата в другом браузере. Начните вход заново.", en: "The sign-in session has expired or was started in another browser. Please start again." }
    error_rate_limited { kk: "Тым көп әрекет. Біраз күтіп, қайталаңыз.", ru: "Слишком много попыток. Подождите и повторите.", en: "Too many attempts. Please wait and try again." }
    login_title { kk: "Ұлттық биометрия арқылы кіру", ru: "Вход через национальную биометрию", en: "Log in with national biometrics" }
    login_requested_by { kk: "Кіруді сұраған жүйе:", ru: "Вход запрашивает система:", en: "Sign-in requested by:" }
    login_unavailable { kk: "Бетпен кіру бұл серверде әлі қосылмаған.", ru: "Вход по лицу на этом сервере ещё не включён.", en: "Face sign-in is not enabled on this server yet." }
    cancel { kk: "Бас тарту", ru: "Отменить", en: "Cancel" }
    consent_title { kk: "Деректерді беруге келісім", ru: "Согласие на передачу данных", en: "Consent to share your data" }
    consent_intro { kk: "Келесі жүйе сіздің деректеріңізге қол жеткізуді сұрайды:", ru: "Следующая система запрашивает доступ к вашим данным:", en: "The following system asks for access to your data:" }
    consent_scope_profile { kk: "Аты-жөніңіз және туған күніңіз", ru: "Ваши фамилия, имя и дата рождения", en: "Your name and date of birth" }
    consent_scope_iin { kk: "Жеке сәйкестендіру нөміріңіз (ЖСН)", ru: "Ваш индивидуальный идентификационный номер (ИИН)", en: "Your individual identification number (IIN)" }
    consent_scope_offline_access { kk: "Сіз жоқта да жүйеге кіруді сақтау", ru: "Сохранение доступа, когда вы не в сети", en: "Keep access while you are away" }
    consent_allow { kk: "Рұқсат беру", ru: "Разрешить", en: "Allow" }
    consent_deny { kk: "Тыйым салу", ru: "Запретить", en: "Deny" }
    privacy_policy { kk: "Құпиялылық саясаты", ru: "Политика конфиденциальности", en: "Privacy policy" }
    user_agreement { kk: "Пайдаланушы келісімі", ru: "Пользовательское соглашение", en: "User agreement" }
    signed_out { kk: "Сіз жүйеден шықтыңыз.", ru: "Вы вышли из системы.", en: "You have signed out." }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_prefers_ui_locales_then_accept_language_then_kazakh() {
        assert_eq!(Lang::negotiate(Some("fr ru"), Some("en")), Lang::Ru);
        assert_eq!(Lang::negotiate(None, Some("de-DE,en-US;q=0.8")), Lang::En);
        assert_eq!(Lang::negotiate(Some("fr"), Some("de")), Lang::Kk);
        assert_eq!(Lang::negotiate(None, Some("kk-KZ")), Lang::Kk);
    }

    #[test]
    fn every_message_exists_in_every_language() {
        for lang in [Lang::Kk, Lang::Ru, Lang::En] {
            assert!(!Msg::consent_allow.text(lang).is_empty());
        }
        assert_ne!(Msg::cancel.text(Lang::Kk), Msg::cancel.text(Lang::Ru));
    }
}
