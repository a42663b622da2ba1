//! The three languages of the UI: Kazakh (the state language, default),
//! Russian and English. Chosen from `ui_locales`, then `Accept-Language`.

pub use tanu_core::lang::Lang;

/// The language a request asks for: `lang` or `ui_locales` in the query,
/// else `Accept-Language`, else Kazakh.
pub fn lang_of(req: &poem::Request) -> Lang {
    let q = req.uri().query().unwrap_or("");
    let explicit = url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "lang" || k == "ui_locales").map(|(_, v)| v.into_owned());
    let accept = req.headers().get("accept-language").and_then(|v| v.to_str().ok());
    Lang::negotiate(explicit.as_deref(), accept)
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
    error_unavailable { kk: "Қызмет уақытша қолжетімсіз. Бір минуттан кейін қайталаңыз.", ru: "Сервис временно недоступен. Повторите через минуту.", en: "The service is unavailable for a moment. Please try again in a minute." }
    error_title { kk: "Сұрауды орындау мүмкін емес", ru: "Запрос не может быть выполнен", en: "The request cannot be completed" }
    error_unknown_client { kk: "Бұл жүйе Tanu-да тіркелмеген немесе өшірілген.", ru: "Эта система не зарегистрирована в Tanu или отключена.", en: "This system is not registered with Tanu or has been disabled." }
    error_redirect_uri { kk: "Қайта бағыттау мекенжайы жүйе үшін тіркелгенмен сәйкес келмейді. Қауіпсіздік үшін сіз ол жаққа жіберілмейсіз.", ru: "Адрес возврата не совпадает с зарегистрированным для этой системы. В целях безопасности вы не будете туда перенаправлены.", en: "The return address does not match the one registered for this system. For your safety you will not be sent there." }
    error_bad_request { kk: "Сұрау дұрыс емес.", ru: "Некорректный запрос.", en: "The request is malformed." }
    error_expired { kk: "Кіру сессиясының мерзімі өтті немесе ол басқа браузерде басталған. Жүйеге қайта кіріп көріңіз.", ru: "Сессия входа истекла или была начата в другом браузере. Начните вход заново.", en: "The sign-in session has expired or was started in another browser. Please start again." }
    error_too_large { kk: "Сұрау тым үлкен.", ru: "Запрос слишком велик.", en: "The request is too large." }
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
    logout_confirm_title { kk: "Tanu-дан шығасыз ба?", ru: "Выйти из Tanu?", en: "Sign out of Tanu?" }
    logout_confirm_intro { kk: "Сізді жүйеден шығару сұралды. Растасаңыз, осы браузердегі Tanu сессиясы аяқталады.", ru: "Запрошен выход из системы. Если вы подтвердите, сессия Tanu в этом браузере завершится.", en: "You were asked to sign out. If you confirm, your Tanu session in this browser ends." }
    logout_confirm { kk: "Шығу", ru: "Выйти", en: "Sign out" }
    logout_stay { kk: "Жүйеде қалу", ru: "Остаться", en: "Stay signed in" }
    still_signed_in { kk: "Сіз жүйеде қалдыңыз.", ru: "Вы остались в системе.", en: "You are still signed in." }
    signed_out { kk: "Сіз жүйеден шықтыңыз.", ru: "Вы вышли из системы.", en: "You have signed out." }

    // Connection of systems (Rules chapter 3): portal, console and mail.
    onb_title { kk: "Жүйелерді қосу", ru: "Подключение систем", en: "Connecting systems" }
    onb_intro { kk: "Ұлттық биометриялық аутентификация жүйесіне ақпараттық жүйені қосу (Қағидалардың 3-тарауы).", ru: "Подключение информационной системы к национальной системе биометрической аутентификации (глава 3 Правил).", en: "Connecting a digital system to the national biometric authentication system (Rules, chapter 3)." }
    onb_sign_in { kk: "Tanu арқылы кіру", ru: "Войти через Tanu", en: "Sign in with Tanu" }
    onb_sign_out { kk: "Шығу", ru: "Выйти", en: "Sign out" }
    onb_signed_in_as { kk: "Сіз кірдіңіз:", ru: "Вы вошли как", en: "Signed in as" }
    onb_portal { kk: "Бастамашы порталы", ru: "Портал инициатора", en: "Initiator portal" }
    onb_console { kk: "Оператор консолі", ru: "Консоль оператора", en: "Operator console" }
    onb_no_role { kk: "Сізде әлі өтінім жоқ. Жаңа өтінім беруге болады.", ru: "У вас пока нет заявок. Можно подать новую заявку.", en: "You have no applications yet. You may file a new one." }
    onb_new_application { kk: "Жаңа өтінім", ru: "Новая заявка", en: "New application" }
    onb_applications { kk: "Өтінімдер", ru: "Заявки", en: "Applications" }
    onb_application { kk: "Өтінім", ru: "Заявка", en: "Application" }
    onb_section_initiator { kk: "Бастамашы", ru: "Инициатор", en: "Initiator" }
    onb_section_system { kk: "Бастамашының ақпараттық жүйесі", ru: "Информационная система инициатора", en: "The initiator's digital system" }
    onb_f_organisation_name { kk: "Ұйымның атауы", ru: "Наименование организации", en: "Organisation name" }
    onb_f_bin { kk: "БСН", ru: "БИН", en: "BIN" }
    onb_f_responsible_official { kk: "Жүйені пайдалануға жауапты лауазымды тұлға", ru: "Должностное лицо, ответственное за эксплуатацию", en: "Official responsible for operation" }
    onb_f_contact_email { kk: "Хат алмасуға арналған электрондық пошта", ru: "Электронная почта для уведомлений", en: "E-mail for notices" }
    onb_f_system_name { kk: "Ақпараттық жүйенің атауы", ru: "Наименование информационной системы", en: "Name of the digital system" }
    onb_f_redirect_uri { kk: "Қайта бағыттау мекенжайы (redirect URI, https)", ru: "Адрес перенаправления (redirect URI, https)", en: "Redirect URI (https)" }
    onb_f_sandbox_redirect_uri { kk: "Тест ортасына арналған redirect URI (міндетті емес; loopback үшін http рұқсат)", ru: "Redirect URI для тестовой среды (необязательно; http только для loopback)", en: "Sandbox redirect URI (optional; http only for loopback)" }
    onb_f_tos_uri { kk: "Пайдаланушы келісіміне сілтеме", ru: "Ссылка на пользовательское соглашение", en: "Link to the user agreement" }
    onb_f_policy_uri { kk: "Құпиялылық саясатына сілтеме", ru: "Ссылка на политику конфиденциальности", en: "Link to the privacy policy" }
    onb_f_logo { kk: "Логотип (PNG, JPEG немесе SVG, 256 КБ дейін; міндетті емес)", ru: "Логотип (PNG, JPEG или SVG, до 256 КБ; необязательно)", en: "Logo (PNG, JPEG or SVG, up to 256 KB; optional)" }
    onb_f_authorised_person { kk: "Уәкілетті тұлғаның аты-жөні", ru: "ФИО уполномоченного лица", en: "Full name of the authorised person" }
    onb_file { kk: "Өтінім беру", ru: "Подать заявку", en: "File the application" }
    onb_err_required { kk: "Міндетті өріс.", ru: "Обязательное поле.", en: "This field is required." }
    onb_err_text { kk: "Мәтін тым ұзын немесе рұқсат етілмеген таңбалары бар.", ru: "Текст слишком длинный или содержит недопустимые символы.", en: "Too long, or contains characters that are not allowed." }
    onb_err_bin { kk: "БСН дұрыс емес: 12 санды және бақылау санын тексеріңіз.", ru: "БИН указан неверно: проверьте 12 цифр и контрольный разряд.", en: "This BIN is not valid: check the 12 digits and the check digit." }
    onb_err_email { kk: "Электрондық пошта мекенжайы дұрыс емес.", ru: "Неверный адрес электронной почты.", en: "This is not a valid e-mail address." }
    onb_err_redirect { kk: "https://, фрагментсіз және логинсіз толық мекенжай болуы керек.", ru: "Нужен полный адрес https:// без фрагмента и без логина.", en: "Must be a full https:// address, without a fragment or credentials." }
    onb_err_sandbox_redirect { kk: "https:// немесе loopback (127.0.0.1, localhost) үшін http:// мекенжайы болуы керек.", ru: "Нужен адрес https:// или http:// для loopback (127.0.0.1, localhost).", en: "Must be https://, or http:// on a loopback host (127.0.0.1, localhost)." }
    onb_err_link { kk: "https:// толық сілтемесі болуы керек.", ru: "Нужна полная ссылка https://.", en: "Must be a full https:// link." }
    onb_err_logo_size { kk: "Логотип 256 КБ-тан үлкен.", ru: "Логотип больше 256 КБ.", en: "The logo is larger than 256 KB." }
    onb_err_logo_format { kk: "Логотип PNG, JPEG немесе SVG болуы керек.", ru: "Логотип должен быть в формате PNG, JPEG или SVG.", en: "The logo must be a PNG, JPEG or SVG image." }
    onb_err_bin_taken { kk: "Бұл БСН атынан басқа тұлға әрекет етеді. Операторға хабарласыңыз.", ru: "От имени этого БИН действует другое лицо. Обратитесь к оператору.", en: "Another person acts for this BIN. Please contact the operator." }
    onb_err_unavailable { kk: "Қосу қызметі уақытша қолжетімсіз. Деректеріңіз сақталды; кейінірек қайталаңыз.", ru: "Сервис подключения временно недоступен. Ваши данные сохранены в форме; повторите позже.", en: "The connection service is unavailable at the moment. Your data is kept in the form; please try again later." }
    onb_err_not_now { kk: "Бұл әрекет өтінімнің қазіргі қадамында мүмкін емес.", ru: "Это действие невозможно на текущем шаге заявки.", en: "This action is not possible at the application's current step." }
    onb_err_forbidden { kk: "Бұл бетке немесе әрекетке рұқсатыңыз жоқ.", ru: "У вас нет доступа к этой странице или действию.", en: "You are not allowed to see this page or take this action." }
    onb_err_signature { kk: "ЭЦҚ тексерілмеді:", ru: "ЭЦП не прошла проверку:", en: "The digital signature did not verify:" }
    onb_err_signer { kk: "Құжатқа сіздің ЭЦҚ-ңызбен қол қойылуы керек.", ru: "Документ должен быть подписан вашей ЭЦП.", en: "The document must be signed with your own digital signature." }
    onb_err_reason { kk: "Себебін жазыңыз (4000 таңбаға дейін).", ru: "Укажите причину (до 4000 символов).", en: "Please give the reason (up to 4000 characters)." }
    onb_step { kk: "Қадам", ru: "Шаг", en: "Step" }
    onb_step_review { kk: "Өтінімді қарау", ru: "Рассмотрение заявки", en: "Review of the application" }
    onb_step_sandbox { kk: "Тест ортасына қолжетімділік беру", ru: "Предоставление доступа к тестовой среде", en: "Sandbox access" }
    onb_step_testing { kk: "Интеграциялық тестілеу", ru: "Интеграционное тестирование", en: "Integration testing" }
    onb_step_act_review { kk: "Актіні қарау", ru: "Рассмотрение акта", en: "Review of the act" }
    onb_step_rework { kk: "Актіні пысықтау", ru: "Доработка акта", en: "Rework of the act" }
    onb_step_act_re_review { kk: "Пысықталған актіні қайта қарау", ru: "Повторное рассмотрение акта", en: "Re-review of the act" }
    onb_step_draft_contract { kk: "Шарт жобасын жіберу", ru: "Направление проекта договора", en: "Draft contract" }
    onb_step_contract { kk: "Шарт жасасу", ru: "Заключение договора", en: "Conclusion of the contract" }
    onb_step_production { kk: "Өнеркәсіптік ортаға қолжетімділік", ru: "Доступ к промышленной среде", en: "Production access" }
    onb_step_connected { kk: "Қосылды", ru: "Подключена", en: "Connected" }
    onb_step_refused { kk: "Бас тартылды", ru: "Отказано", en: "Refused" }
    onb_step_lapsed { kk: "Мерзімі өтіп, жабылды", ru: "Закрыта по истечении срока", en: "Lapsed" }
    onb_deadline { kk: "Мерзім", ru: "Срок", en: "Deadline" }
    onb_awaited_operator { kk: "Оператордың әрекеті күтілуде", ru: "Ожидается действие оператора", en: "Awaiting the operator" }
    onb_awaited_initiator { kk: "Бастамашының әрекеті күтілуде", ru: "Ожидается действие инициатора", en: "Awaiting the initiator" }
    onb_working_days_left { kk: "Қалған жұмыс күндері", ru: "Осталось рабочих дней", en: "Working days left" }
    onb_overdue { kk: "Мерзімі өтті", ru: "Просрочено", en: "Overdue" }
    onb_breaches { kk: "Бұзылған мерзімдер", ru: "Нарушенные сроки", en: "Missed deadlines" }
    onb_timeline { kk: "Өтінім тарихы", ru: "История заявки", en: "Timeline" }
    onb_when { kk: "Уақыты (Алматы)", ru: "Время (Алматы)", en: "Time (Almaty)" }
    onb_who { kk: "Кім", ru: "Кто", en: "Who" }
    onb_event { kk: "Оқиға", ru: "Событие", en: "Event" }
    onb_on_time { kk: "мерзімінде", ru: "в срок", en: "on time" }
    onb_late { kk: "кешіктірілді", ru: "с опозданием", en: "late" }
    onb_closing_reason { kk: "Себебі", ru: "Причина", en: "Reason" }
    onb_refile { kk: "Қайта өтінім беру", ru: "Подать заявку повторно", en: "Apply again" }
    onb_actions { kk: "Әрекеттер", ru: "Действия", en: "Actions" }
    onb_reason { kk: "Себебі (міндетті)", ru: "Причина (обязательно)", en: "Reason (required)" }
    onb_a_approve { kk: "Өтінімді мақұлдау", ru: "Одобрить заявку", en: "Approve the application" }
    onb_a_refuse { kk: "Дәлелді бас тарту", ru: "Мотивированный отказ", en: "Refuse, with reasons" }
    onb_a_grant_sandbox { kk: "Тест ортасына қолжетімділік беру", ru: "Предоставить доступ к тестовой среде", en: "Grant sandbox access" }
    onb_a_record_test { kk: "Тест нәтижесін тіркеу", ru: "Записать результат теста", en: "Record a test result" }
    onb_a_positive { kk: "Оң", ru: "Положительный", en: "Positive" }
    onb_a_negative { kk: "Теріс", ru: "Отрицательный", en: "Negative" }
    onb_a_note { kk: "Сипаттама", ru: "Описание", en: "Note" }
    onb_a_submit_act { kk: "Сынақ және пайдалануға енгізу актісі", ru: "Акт испытаний и ввода в эксплуатацию", en: "Act of testing and commissioning" }
    onb_a_approve_act { kk: "Актіні ЭЦҚ-мен мақұлдау", ru: "Согласовать акт ЭЦП", en: "Approve the act by EDS" }
    onb_a_return_act { kk: "Актіні пысықтауға қайтару", ru: "Вернуть акт на доработку", en: "Return the act for rework" }
    onb_a_send_draft_contract { kk: "Шарт жобасын жіберу", ru: "Направить проект договора", en: "Send the draft contract" }
    onb_a_conclude_contract { kk: "Шарт жасалды", ru: "Договор заключён", en: "The contract is concluded" }
    onb_a_grant_production { kk: "Өнеркәсіптік ортаға қолжетімділік беру", ru: "Предоставить доступ к промышленной среде", en: "Grant production access" }
    onb_done { kk: "Орындалды.", ru: "Выполнено.", en: "Done." }
    onb_act_conclusion { kk: "Қорытынды", ru: "Заключение", en: "Conclusion" }
    onb_act_scenario { kk: "Тест сценарийі", ru: "Сценарий тестирования", en: "Test scenario" }
    onb_act_decision { kk: "Тест нәтижелері бойынша шешім", ru: "Решение по результатам тестирования", en: "Decision on the test results" }
    onb_act_commissioning { kk: "Пайдалануға енгізу күні", ru: "Дата ввода в эксплуатацию", en: "Date of commissioning" }
    onb_act_prepare { kk: "Құжатты дайындау", ru: "Сформировать документ", en: "Prepare the document" }
    onb_act_download { kk: "Құжатты жүктеп алу", ru: "Скачать документ", en: "Download the document" }
    onb_act_sign_hint { kk: "Құжатқа ЭЦҚ-мен қол қойып (CMS, бөлек қолтаңба), қолтаңба файлын жүктеңіз.", ru: "Подпишите документ ЭЦП (CMS, отсоединённая подпись) и загрузите файл подписи.", en: "Sign the document with your EDS (CMS, detached signature) and upload the signature file." }
    onb_signature_file { kk: "Қолтаңба файлы (.p7s, .cms)", ru: "Файл подписи (.p7s, .cms)", en: "Signature file (.p7s, .cms)" }
    onb_act_send { kk: "Қол қойылған актіні жіберу", ru: "Отправить подписанный акт", en: "Send the signed act" }
    onb_approval_send { kk: "Қол қойылған келісімді жіберу", ru: "Отправить подписанное согласование", en: "Send the signed approval" }
    onb_documents { kk: "Қол қойылған құжаттар", ru: "Подписанные документы", en: "Signed documents" }
    onb_credentials { kk: "Клиент деректемелері", ru: "Реквизиты клиента", en: "Client credentials" }
    onb_env_sandbox { kk: "Тест ортасы", ru: "Тестовая среда", en: "Sandbox" }
    onb_env_production { kk: "Өнеркәсіптік орта", ru: "Промышленная среда", en: "Production" }
    onb_show_secret { kk: "Құпияны көрсету (бір рет қана)", ru: "Показать секрет (только один раз)", en: "Show the secret (once only)" }
    onb_secret_shown { kk: "Құпия көрсетілді; ол қайта көрсетілмейді. Оны қауіпсіз жерде сақтаңыз.", ru: "Секрет показан и больше показан не будет. Сохраните его в надёжном месте.", en: "The secret has been shown and will not be shown again. Keep it somewhere safe." }
    onb_secret_gone { kk: "Құпия бұрын көрсетілген.", ru: "Секрет уже был показан.", en: "The secret has already been shown." }
    onb_mails { kk: "Жіберілген хаттар", ru: "Отправленные письма", en: "Mails sent" }
    onb_filter_all { kk: "Барлығы", ru: "Все", en: "All" }
    onb_filter_overdue { kk: "Тек мерзімі өткендер", ru: "Только просроченные", en: "Overdue only" }
    onb_filter_closed { kk: "Жабылғандарды қоса", ru: "Включая закрытые", en: "Include closed" }
    onb_filter { kk: "Сүзу", ru: "Фильтр", en: "Filter" }
    onb_export_csv { kk: "Тізілім (CSV)", ru: "Реестр (CSV)", en: "Register (CSV)" }
    onb_none { kk: "Өтінім жоқ.", ru: "Заявок нет.", en: "No applications." }
    onb_filed { kk: "Берілді", ru: "Подана", en: "Filed" }
    onb_e_filed { kk: "өтінім берілді", ru: "заявка подана", en: "the application was filed" }
    onb_e_approve { kk: "өтінім мақұлданды", ru: "заявка одобрена", en: "the application was approved" }
    onb_e_refuse { kk: "өтінімнен дәлелді бас тартылды", ru: "в заявке мотивированно отказано", en: "the application was refused, with reasons" }
    onb_e_grant_sandbox { kk: "тест ортасына қолжетімділік берілді", ru: "предоставлен доступ к тестовой среде", en: "sandbox access was granted" }
    onb_e_record_test { kk: "тест нәтижесі тіркелді", ru: "записан результат теста", en: "a test result was recorded" }
    onb_e_submit_act { kk: "қол қойылған акт жіберілді", ru: "направлен подписанный акт", en: "the signed act was sent" }
    onb_e_approve_act { kk: "акт ЭЦҚ-мен мақұлданды", ru: "акт согласован ЭЦП", en: "the act was approved by EDS" }
    onb_e_return_act { kk: "акт пысықтауға қайтарылды", ru: "акт возвращён на доработку", en: "the act was returned for rework" }
    onb_e_resubmit_act { kk: "пысықталған акт жіберілді", ru: "направлен доработанный акт", en: "the reworked act was sent" }
    onb_e_send_draft_contract { kk: "шарт жобасы жіберілді", ru: "направлен проект договора", en: "the draft contract was sent" }
    onb_e_conclude_contract { kk: "шарт жасалды", ru: "договор заключён", en: "the contract was concluded" }
    onb_e_grant_production { kk: "өнеркәсіптік ортаға қолжетімділік берілді", ru: "предоставлен доступ к промышленной среде", en: "production access was granted" }
    onb_e_reminder { kk: "еске салу: мерзім келесі жұмыс күні аяқталады", ru: "напоминание: срок истекает в следующий рабочий день", en: "reminder: the deadline ends on the next working day" }
    onb_e_overdue { kk: "оператордың мерзімі бұзылды", ru: "нарушен срок оператора", en: "the operator's deadline was missed" }
    onb_e_lapsed { kk: "бастамашының мерзімі өтті, өтінім жабылды", ru: "срок инициатора истёк, заявка закрыта", en: "the initiator's deadline passed; the application is closed" }
    onb_doc_operator { kk: "Оператор", ru: "Оператор", en: "Operator" }
    onb_doc_operator_system { kk: "Оператордың ақпараттық жүйесі", ru: "Информационная система оператора", en: "The operator's digital system" }
    onb_doc_date { kk: "Күні", ru: "Дата", en: "Date" }
    onb_contract_title { kk: "Ұлттық биометриялық аутентификация жүйесіне қосу туралы шарттың жобасы", ru: "Проект договора о подключении к национальной системе биометрической аутентификации", en: "Draft contract for connection to the national biometric authentication system" }
    onb_contract_terms { kk: "Оператор шарт жасалған күннен бастап 10 жұмыс күні ішінде өнеркәсіптік ортаға қолжетімділік береді (Қағидалардың 17-тармағы).", ru: "Оператор предоставляет доступ к промышленной среде в течение 10 рабочих дней со дня заключения договора (пункт 17 Правил).", en: "The operator grants production access within 10 working days of the day the contract is concluded (Rules §17)." }
    onb_contract_download { kk: "Шарт жобасын жүктеп алу", ru: "Скачать проект договора", en: "Download the draft contract" }
    onb_mail_hello { kk: "Сәлеметсіз бе!", ru: "Здравствуйте!", en: "Hello," }
    onb_mail_now { kk: "Қазіргі қадам:", ru: "Текущий шаг:", en: "Current step:" }
    onb_mail_due { kk: "Мерзім (Алматы уақыты):", ru: "Срок (время Алматы):", en: "Deadline (Almaty time):" }
    onb_mail_open { kk: "Өтінімді ашу:", ru: "Открыть заявку:", en: "Open the application:" }
    me_title { kk: "Жеке кабинет", ru: "Личный кабинет", en: "My cabinet" }
    me_intro { kk: "Келісіміңіз кімде екенін, кім қандай деректерді қашан алғанын көріңіз, әр келісімді және биометриялық деректерді кері қайтарып алыңыз.", ru: "Узнайте, у кого ваше согласие, кто какие данные и когда получил, и отзовите любое согласие, включая биометрическое.", en: "See who holds your consent, who received what and when, and take back any consent, including the biometric one." }
    me_signin { kk: "Tanu арқылы кіру", ru: "Войти через Tanu", en: "Sign in with Tanu" }
    me_signout { kk: "Шығу", ru: "Выйти", en: "Sign out" }
    me_nav_consents { kk: "Келісімдер", ru: "Согласия", en: "Consents" }
    me_nav_history { kk: "Қолжетімділік тарихы", ru: "История доступа", en: "Access history" }
    me_nav_biometrics { kk: "Биометриялық деректер", ru: "Биометрические данные", en: "Biometric data" }
    me_consents_none { kk: "Сіздің келісіміңіз ешбір жүйеде жоқ.", ru: "Ни одна система не имеет вашего согласия.", en: "No system holds your consent." }
    me_claims { kk: "Деректер", ru: "Данные", en: "Data" }
    me_granted { kk: "Берілген уақыты", ru: "Выдано", en: "Granted" }
    me_last_used { kk: "Соңғы пайдаланылуы", ru: "Последнее использование", en: "Last used" }
    me_never { kk: "әлі пайдаланылмаған", ru: "ещё не использовалось", en: "not yet" }
    me_revoke { kk: "Келісімді кері қайтарып алу", ru: "Отозвать согласие", en: "Revoke consent" }
    me_revoked { kk: "Келісім кері қайтарылды: жүйенің токендері бірден жарамсыз болды, келесі кіруде келісім қайта сұралады.", ru: "Согласие отозвано: токены системы сразу перестали действовать, при следующем входе согласие будет запрошено снова.", en: "Consent revoked: the system's tokens stopped working at once, and the next sign-in will ask for consent again." }
    me_claim_sub { kk: "Осы жүйедегі сіздің идентификаторыңыз", ru: "Ваш идентификатор в этой системе", en: "Your identifier at this system" }
    me_not_found { kk: "Табылмады.", ru: "Не найдено.", en: "Not found." }
    me_history_none { kk: "Әзірге жазба жоқ.", ru: "Записей пока нет.", en: "No records yet." }
    me_h_release { kk: "Деректер берілді", ru: "Переданы данные", en: "Data released" }
    me_h_attempt { kk: "Журналдағы жазба", ru: "Запись журнала", en: "Journal record" }
    me_channel_id_token { kk: "ID-токен", ru: "ID-токен", en: "ID token" }
    me_channel_userinfo { kk: "пайдаланушы туралы мәліметтер (userinfo)", ru: "сведения о пользователе (userinfo)", en: "user information (userinfo)" }
    me_channel_refresh { kk: "токенді жаңарту", ru: "обновление токена", en: "token refresh" }
    me_success { kk: "сәтті", ru: "успешно", en: "success" }
    me_failure { kk: "сәтсіз", ru: "неуспешно", en: "failure" }
    me_newer { kk: "Жаңалары", ru: "Новее", en: "Newer" }
    me_older { kk: "Ескілері", ru: "Старее", en: "Older" }
    me_download_csv { kk: "CSV жүктеу", ru: "Скачать CSV", en: "Download CSV" }
    me_download_json { kk: "JSON жүктеу", ru: "Скачать JSON", en: "Download JSON" }
    me_bio_template { kk: "Эталондық үлгі", ru: "Эталонный шаблон", en: "Reference template" }
    me_bio_formed { kk: "Құрылған уақыты", ru: "Сформирован", en: "Formed" }
    me_bio_source { kk: "Тікелей түсірілген бейнеден, тізілімдегі құжат фотосуретімен салыстырылып құрылды; шифрланып сақталады.", ru: "Сформирован из живой съёмки, сверенной с фотографией документа в реестре; хранится зашифрованным.", en: "Formed from a live capture checked against your document photo in the registry; kept encrypted." }
    me_bio_consent { kk: "Биометриялық деректерді өңдеуге келісім", ru: "Согласие на обработку биометрических данных", en: "Consent to biometric processing" }
    me_bio_version { kk: "Мәтін нұсқасы", ru: "Версия текста", en: "Text version" }
    me_bio_none { kk: "Tanu-да сіздің биометриялық деректеріңіз жоқ. Келесі кіруде келісім сұралып, бетіңіз құжат фотосуретімен салыстырылады.", ru: "Tanu не хранит ваших биометрических данных. При следующем входе будет запрошено согласие, а лицо сверено с фотографией документа.", en: "Tanu holds no biometric data of yours. The next sign-in will ask for consent and compare your face with your document photo." }
    me_bio_warning { kk: "Келісімді кері қайтарсаңыз, үлгі мен оның кілті жойылады, барлық сессиялар аяқталады; келесі кіру алғашқыдай болады.", ru: "После отзыва шаблон и его ключ удаляются, все сессии завершаются; следующий вход будет первым.", en: "Withdrawing deletes the template and its key and ends all your sessions; the next sign-in will be a first one." }
    me_bio_withdraw { kk: "Келісімді кері қайтарып, үлгіні жою", ru: "Отозвать согласие и удалить шаблон", en: "Withdraw consent and delete the template" }
    me_bio_withdrawn { kk: "Биометриялық келісім кері қайтарылды, үлгі жойылды, барлық сессиялар аяқталды.", ru: "Биометрическое согласие отозвано, шаблон удалён, все сессии завершены.", en: "Biometric consent withdrawn; the template has been deleted and all your sessions ended." }
    me_nav_documents { kk: "Құжаттар", ru: "Документы", en: "Documents" }
    me_doc_intro { kk: "Тізілімдегі құжатыңызға қолжетімділік ашыңыз: тексерушіге QR-кодты көрсетіңіз немесе қысқа кодты айтыңыз. Код бір рет және бірнеше минут жарамды; оны пайдаланылғанға дейін кері қайтаруға болады.", ru: "Откройте доступ к своему документу из реестра: покажите проверяющему QR-код или продиктуйте короткий код. Код действует один раз и несколько минут; до использования его можно отозвать.", en: "Open access to your document from the registry: show the verifier the QR code or read out the short code. The code works once and for a few minutes; you can revoke it before it is used." }
    me_doc_identity_card { kk: "Жеке куәлік (деректер мен фотосурет)", ru: "Удостоверение личности (данные и фотография)", en: "Identity card (data and photo)" }
    me_doc_open { kk: "Қолжетімділікті ашу", ru: "Открыть доступ", en: "Open access" }
    me_doc_none { kk: "Тізілімде сіздің құжатыңыз жоқ.", ru: "В реестре нет ваших документов.", en: "The registry holds no document of yours." }
    me_doc_registry_down { kk: "Тізілім қазір қолжетімсіз. Кейінірек қайталаңыз.", ru: "Реестр сейчас недоступен. Повторите позже.", en: "The registry is unavailable right now. Please try again later." }
    me_doc_code { kk: "Қысқа код", ru: "Короткий код", en: "Short code" }
    me_doc_valid_until { kk: "Жарамды мерзімі", ru: "Действует до", en: "Valid until" }
    me_doc_once { kk: "Код тек қазір көрсетіледі және бір рет жарамды.", ru: "Код показан только сейчас и действует один раз.", en: "The code is shown only now and works once." }
    me_doc_shares { kk: "Ашылған қолжетімділіктер", ru: "Открытые доступы", en: "Accesses opened" }
    me_doc_shares_none { kk: "Сіз әлі қолжетімділік ашпадыңыз.", ru: "Вы ещё не открывали доступ.", en: "You have not opened access yet." }
    me_doc_active { kk: "белсенді", ru: "действует", en: "active" }
    me_doc_viewed { kk: "қаралды", ru: "просмотрен", en: "viewed" }
    me_doc_state_revoked { kk: "кері қайтарылды", ru: "отозван", en: "revoked" }
    me_doc_expired { kk: "мерзімі өтті", ru: "истёк", en: "expired" }
    me_doc_viewed_by { kk: "Кім қарады", ru: "Кто просмотрел", en: "Viewed by" }
    me_doc_revoke { kk: "Кодты кері қайтару", ru: "Отозвать код", en: "Revoke the code" }
    me_doc_revoked { kk: "Код кері қайтарылды: енді оны ешкім пайдалана алмайды.", ru: "Код отозван: им больше никто не сможет воспользоваться.", en: "The code has been revoked: no one can use it any more." }
    me_doc_iin { kk: "ЖСН", ru: "ИИН", en: "IIN" }
    me_doc_name { kk: "Аты-жөні", ru: "ФИО", en: "Name" }
    me_doc_birthdate { kk: "Туған күні", ru: "Дата рождения", en: "Date of birth" }
    me_h_document_view { kk: "Құжат қаралды", ru: "Просмотр документа", en: "Document viewed" }
    me_verify_title { kk: "Құжатты кодпен тексеру", ru: "Проверка документа по коду", en: "Check a document by code" }
    me_verify_intro { kk: "Азамат берген 8 таңбалы кодты енгізіңіз немесе оның QR-кодын сканерлеңіз. Құжат бір рет көрсетіледі, қарау азаматтың тарихына жазылады.", ru: "Введите 8-значный код, который сообщил гражданин, или отсканируйте его QR-код. Документ показывается один раз, просмотр записывается в историю гражданина.", en: "Type the 8-digit code the citizen gave you, or scan their QR code. The document is shown once, and the view is recorded in the citizen's history." }
    me_verify_submit { kk: "Құжатты көрсету", ru: "Показать документ", en: "Show the document" }
    me_verify_invalid { kk: "Код қате, пайдаланылған, кері қайтарылған немесе мерзімі өткен.", ru: "Код неверен, уже использован, отозван или истёк.", en: "The code is wrong, already used, revoked or expired." }
    me_verify_locked { kk: "Қате кодтар тым көп: тексеру уақытша бұғатталды.", ru: "Слишком много неверных кодов: проверка временно заблокирована.", en: "Too many wrong codes: checking is locked for a while." }
    me_verify_refused { kk: "Сіз құжаттарды тексеруші ретінде тіркелмегенсіз. Tanu операторына хабарласыңыз.", ru: "Вы не зарегистрированы как проверяющий документы. Обратитесь к оператору Tanu.", en: "You are not registered as a document verifier. Please contact the Tanu operator." }
    me_verify_history { kk: "Сіздің тексерулеріңіз", ru: "Ваши проверки", en: "Your checks" }
    me_verify_viewed_at { kk: "Қаралған уақыты", ru: "Просмотрено", en: "Viewed" }
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
