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
    face_iin_label { kk: "Жеке сәйкестендіру нөміріңіз (ЖСН)", ru: "Ваш индивидуальный идентификационный номер (ИИН)", en: "Your individual identification number (IIN)" }
    face_iin_hint { kk: "12 сан", ru: "12 цифр", en: "12 digits" }
    face_continue { kk: "Жалғастыру", ru: "Продолжить", en: "Continue" }
    face_iin_invalid { kk: "ЖСН дұрыс емес: 12 санды тексеріңіз.", ru: "ИИН указан неверно: проверьте 12 цифр.", en: "This IIN is not valid: please check the 12 digits." }
    face_not_in_registry { kk: "Бұл ЖСН мемлекеттік тұлғалар тізілімінде табылмады.", ru: "Этот ИИН не найден в государственном реестре физических лиц.", en: "This IIN was not found in the state person registry." }
    face_registry_unavailable { kk: "Тұлғалар тізілімі уақытша қолжетімсіз. Кейінірек қайталаңыз.", ru: "Реестр физических лиц временно недоступен. Повторите позже.", en: "The person registry is unavailable at the moment. Please try again later." }
    face_locked { kk: "Бұл ЖСН немесе желі үшін сәтсіз әрекеттер тым көп. Кейінірек қайталаңыз.", ru: "Слишком много неудачных попыток для этого ИИН или из этой сети. Повторите позже.", en: "Too many failed attempts for this IIN or from this network. Please try again later." }
    bio_consent_title { kk: "Биометриялық деректерді өңдеуге келісім", ru: "Согласие на обработку биометрических данных", en: "Consent to the processing of your biometric data" }
    bio_consent_text { kk: "Жеке басыңызды растау үшін Tanu камерадан бет бейнеңізді алады, оның тірі адам екенін тексереді және алғаш рет мемлекеттік тізілімдегі құжат фотосуретімен, кейін жүйеде сақталған эталондық үлгімен салыстырады. Кадрлар тек осы әрекет барысында жадта болады; тек шифрланған эталондық үлгі сақталады. Келісімді кез келген уақытта кері қайтарып алуға болады, сонда үлгі жойылады.", ru: "Чтобы подтвердить вашу личность, Tanu получает изображение вашего лица с камеры, проверяет, что перед камерой живой человек, и сравнивает его в первый раз с фотографией из документа в государственном реестре, а затем с эталонным образцом, хранимым в системе. Кадры находятся в памяти только во время этой попытки; хранится только зашифрованный эталонный образец. Согласие можно отозвать в любое время, и образец будет удалён.", en: "To confirm who you are, Tanu takes images of your face from the camera, checks that a living person is in front of it, and compares them the first time with the photo of your identity document in the state registry, and afterwards with a reference template kept in the system. The images are held in memory for this attempt only; only the encrypted reference template is kept. You may withdraw this consent at any time, and the template is then deleted." }
    bio_consent_version { kk: "Мәтін нұсқасы", ru: "Версия текста", en: "Text version" }
    bio_consent_accept { kk: "Келісемін", ru: "Согласен(на)", en: "I agree" }
    bio_consent_decline { kk: "Келіспеймін", ru: "Не согласен(на)", en: "I do not agree" }
    camera_title { kk: "Бетті тексеру", ru: "Проверка лица", en: "Face check" }
    camera_guide { kk: "Бетіңізді сопақтың ішіне орналастырыңыз, жарық жеткілікті болсын, камераны қол созымында ұстаңыз.", ru: "Поместите лицо в овал, обеспечьте хорошее освещение, держите камеру на расстоянии вытянутой руки.", en: "Place your face inside the oval, in good light, with the camera at arm's length." }
    camera_start { kk: "Камераны қосу", ru: "Включить камеру", en: "Start the camera" }
    camera_denied { kk: "Камераға қол жеткізу мүмкін болмады. Браузерде камераға рұқсат беріңіз.", ru: "Нет доступа к камере. Разрешите браузеру использовать камеру.", en: "The camera could not be opened. Please allow this page to use the camera." }
    camera_look { kk: "Камераға тура қараңыз", ru: "Смотрите прямо в камеру", en: "Look straight at the camera" }
    camera_checking { kk: "Тексерілуде…", ru: "Проверяем…", en: "Checking…" }
    challenge_turn_left { kk: "Басыңызды баяу солға бұрыңыз", ru: "Медленно поверните голову влево", en: "Slowly turn your head to your left" }
    challenge_turn_right { kk: "Басыңызды баяу оңға бұрыңыз", ru: "Медленно поверните голову вправо", en: "Slowly turn your head to your right" }
    challenge_blink { kk: "Көзіңізді жыпылықтатыңыз", ru: "Моргните", en: "Blink your eyes" }
    fail_title { kk: "Растау мүмкін болмады", ru: "Подтвердить не удалось", en: "We could not confirm it is you" }
    fail_no_face { kk: "Бет табылмады. Бетіңіз сопақтың ішінде және жақсы жарықтандырылған болсын.", ru: "Лицо не найдено. Убедитесь, что лицо в овале и хорошо освещено.", en: "No face was found. Make sure your face is inside the oval and well lit." }
    fail_several_faces { kk: "Кадрда бірнеше бет бар. Камера алдында тек сіз болуыңыз керек.", ru: "В кадре несколько лиц. Перед камерой должны быть только вы.", en: "More than one face is in view. Only you should be in front of the camera." }
    fail_liveness { kk: "Тірі адам екеніңізді растау мүмкін болмады. Нұсқауды орындаңыз; фотосуретті немесе экранды көрсетпеңіз.", ru: "Не удалось подтвердить, что перед камерой живой человек. Выполните указание на экране; не показывайте фотографию или экран.", en: "We could not confirm that a living person is in front of the camera. Follow the instruction on screen; do not show a photo or a screen." }
    fail_no_match { kk: "Бет құжаттағы фотосуретке немесе эталондық үлгіге сәйкес келмеді.", ru: "Лицо не совпало с фотографией документа или эталонным образцом.", en: "Your face did not match the document photo or your reference template." }
    fail_timeout { kk: "Уақыт бітті.", ru: "Время истекло.", en: "The time ran out." }
    fail_engine { kk: "Тексеру уақытша мүмкін емес. Кейінірек қайталаңыз.", ru: "Проверка временно невозможна. Повторите позже.", en: "The check is unavailable at the moment. Please try again later." }
    fail_tries_left { kk: "Қалған әрекеттер саны:", ru: "Осталось попыток:", en: "Attempts left:" }
    retry { kk: "Қайталау", ru: "Повторить", en: "Try again" }
    return_to_service { kk: "Жүйеге оралу", ru: "Вернуться в систему", en: "Return to the service" }
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
