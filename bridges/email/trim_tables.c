/*
 * trim_tables.c: the attribution words, header labels, separator and
 * forward phrases, signature lines and HTML quote markers of the mail
 * clients coopgate's members use, each with the client it comes from.
 * Owns only data; trim.c and html_text.c read it.
 * Must never: hold a pattern that matches ordinary prose on its own (a
 * phrase here is only believed where trim.c's rules put it: the end of
 * a line above a quote, a header block, the last lines of a reply).
 */
#include <stddef.h>

#include "bridges/email/trim_tables.h"

/* "... wrote:" in the languages of the clients' attribution lines. */
const char *const trim_attribution_verbs[] = {
    "wrote",       /* Gmail, Thunderbird, Apple Mail, K-9, Yahoo (EN) */
    "writes",      /* Mutt, some Thunderbird add-ons */
    "schrieb",     /* Gmail, Thunderbird, Apple Mail, K-9 (DE) */
    "schreibt",    /* GMX/Web.de webmail (DE) */
    "geschrieben", /* Open-Xchange "hat am ... geschrieben:", Yahoo (DE) */
    "geschreven",  /* Apple Mail "het volgende geschreven:" (NL) */
    "écrit",       /* Gmail "a écrit :", Thunderbird, Apple Mail (FR) */
    "escribió",    /* Gmail, Apple Mail (ES) */
    "escreveu",    /* Gmail, Apple Mail (PT) */
    "ha scritto",  /* Gmail "ha scritto:" (IT) */
    "scritto",     /* Thunderbird "ha scritto:" (IT) */
    "scrisse",     /* Apple Mail (IT) */
    "schreef",     /* Gmail, Thunderbird, Apple Mail (NL) */
    "skrev",       /* Gmail, Apple Mail (NO, DA, SV) */
    "napisał",     /* Gmail "napisał(a):", Thunderbird (PL) */
    "napisała",    /* Thunderbird (PL) */
    "pisze",       /* Thunderbird "W dniu ..., X pisze:" (PL) */
    "napsal",      /* Gmail, Thunderbird (CS) */
    "kirjoitti",   /* Gmail, Apple Mail (FI) */
    "написал", /* Gmail "пользователь ... написал:", Apple (RU) */
    "написала", /* Apple Mail (RU) */
    "написав",  /* Apple Mail, Thunderbird (UK) */
    "пишет",    /* Thunderbird, Mail.ru (RU) */
    "пише",     /* Gmail, Thunderbird (UK) */
    "yazdı",    /* Gmail (TR) */
    "έγραψε",   /* Gmail (EL) */
    "写道",     /* Gmail, Apple Mail (ZH) */
    "寫道",     /* Gmail, Apple Mail (ZH-TW) */
    NULL};

/* The first word of an attribution line that has no "<addr>" in it. */
const char *const trim_attribution_openers[] = {
    "On ",     /* Gmail, Thunderbird, Apple Mail, K-9 (EN) */
    "Am ",     /* Gmail web, Thunderbird, Apple Mail (DE) */
    "Le ",     /* Gmail, Thunderbird (FR) */
    "El ",     /* Gmail (ES) */
    "Em ",     /* Gmail (PT) */
    "Op ",     /* Gmail, Thunderbird (NL) */
    "Il ",     /* Gmail "Il giorno ..." (IT) */
    "Den ",    /* Apple Mail (SV, DA) */
    "W dniu ", /* Thunderbird (PL) */
    "Dne ",    /* Thunderbird (CS) */
    NULL};

/* Outlook (desktop, web, mobile), GMX/Web.de, Yahoo and Gmail's
 * forwards write a header block of these labels. */
const struct trim_label trim_header_labels[] = {
    /* English: Outlook, Yahoo, Apple Mail, Gmail forwards */
    {"From", TRIM_FIELD_FROM},
    {"Sent", TRIM_FIELD_DATE},
    {"Date", TRIM_FIELD_DATE},
    {"To", TRIM_FIELD_TO},
    {"Cc", TRIM_FIELD_CC},
    {"Subject", TRIM_FIELD_SUBJECT},
    /* German: Outlook, GMX/Web.de ("Gesendet:" first), T-Online */
    {"Von", TRIM_FIELD_FROM},
    {"Gesendet", TRIM_FIELD_DATE},
    {"Datum", TRIM_FIELD_DATE},
    {"An", TRIM_FIELD_TO},
    {"Betreff", TRIM_FIELD_SUBJECT},
    /* French: Outlook ("De :" with a space) */
    {"De", TRIM_FIELD_FROM},
    {"Envoyé", TRIM_FIELD_DATE},
    {"À", TRIM_FIELD_TO},
    {"A", TRIM_FIELD_TO},
    {"Objet", TRIM_FIELD_SUBJECT},
    /* Spanish and Portuguese: Outlook */
    {"Enviado", TRIM_FIELD_DATE},
    {"Enviado el", TRIM_FIELD_DATE},
    {"Fecha", TRIM_FIELD_DATE},
    {"Para", TRIM_FIELD_TO},
    {"Asunto", TRIM_FIELD_SUBJECT},
    {"Assunto", TRIM_FIELD_SUBJECT},
    /* Italian: Outlook */
    {"Da", TRIM_FIELD_FROM},
    {"Inviato", TRIM_FIELD_DATE},
    {"Data", TRIM_FIELD_DATE},
    {"Oggetto", TRIM_FIELD_SUBJECT},
    /* Dutch: Outlook */
    {"Van", TRIM_FIELD_FROM},
    {"Verzonden", TRIM_FIELD_DATE},
    {"Aan", TRIM_FIELD_TO},
    {"Onderwerp", TRIM_FIELD_SUBJECT},
    /* Polish: Outlook */
    {"Od", TRIM_FIELD_FROM},
    {"Wysłano", TRIM_FIELD_DATE},
    {"Do", TRIM_FIELD_TO},
    {"DW", TRIM_FIELD_CC},
    {"Temat", TRIM_FIELD_SUBJECT},
    /* Norwegian, Danish, Swedish: Outlook */
    {"Fra", TRIM_FIELD_FROM},
    {"Från", TRIM_FIELD_FROM},
    {"Sendt", TRIM_FIELD_DATE},
    {"Skickat", TRIM_FIELD_DATE},
    {"Dato", TRIM_FIELD_DATE},
    {"Til", TRIM_FIELD_TO},
    {"Till", TRIM_FIELD_TO},
    {"Kopi", TRIM_FIELD_CC},
    {"Emne", TRIM_FIELD_SUBJECT},
    {"Ämne", TRIM_FIELD_SUBJECT},
    /* Czech: Outlook */
    {"Odesláno", TRIM_FIELD_DATE},
    {"Komu", TRIM_FIELD_TO},
    {"Předmět", TRIM_FIELD_SUBJECT},
    /* Russian: Outlook, Mail.ru, Yandex */
    {"От", TRIM_FIELD_FROM},
    {"Отправлено", TRIM_FIELD_DATE},
    {"Дата", TRIM_FIELD_DATE},
    {"Кому", TRIM_FIELD_TO},
    {"Копия", TRIM_FIELD_CC},
    {"Тема", TRIM_FIELD_SUBJECT},
    /* Ukrainian: Outlook */
    {"Від", TRIM_FIELD_FROM},
    {"Надіслано", TRIM_FIELD_DATE},
    {"Копія", TRIM_FIELD_CC},
    {NULL, TRIM_FIELD_FROM}};

/* In a line of dashes or underscores: the original below is quoted. */
const char *const trim_original_markers[] = {
    "Original Message",         /* Outlook, Yahoo, Thunderbird (EN) */
    "Original message",         /* Gmail, Samsung Email (EN) */
    "Ursprüngliche Nachricht",  /* Outlook, Thunderbird (DE) */
    "Originalnachricht",        /* Samsung Email, GMX app (DE) */
    "Message d'origine",        /* Outlook (FR) */
    "Message d’origine",        /* Outlook for Mac (FR) */
    "Mensaje original",         /* Outlook (ES) */
    "Mensagem original",        /* Outlook (PT) */
    "Messaggio originale",      /* Outlook (IT) */
    "Oorspronkelijk bericht",   /* Outlook (NL) */
    "Oryginalna wiadomość",     /* Outlook (PL) */
    "Opprinnelig melding",      /* Outlook (NO) */
    "Oprindelig meddelelse",    /* Outlook (DA) */
    "Ursprungligt meddelande",  /* Outlook (SV) */
    "Originalmeddelande",       /* Outlook (SV) */
    "Původní zpráva",           /* Outlook (CS) */
    "Исходное сообщение",       /* Outlook (RU) */
    "Оригінальне повідомлення", /* Outlook (UK) */
    "Вихідне повідомлення",     /* Outlook (UK) */
    NULL};

/* Forwarded mail: what follows is news for the room, kept. */
const char *const trim_forward_markers[] = {
    "Forwarded message",                      /* Gmail (EN) */
    "Forwarded Message",                      /* Thunderbird (EN) */
    "Begin forwarded message",                /* Apple Mail (EN) */
    "Weitergeleitete Nachricht",              /* Gmail, Thunderbird (DE) */
    "Ursprüngliche Nachricht weitergeleitet", /* Apple Mail (DE) */
    "Message transféré",                      /* Gmail, Thunderbird (FR) */
    "Mensaje reenviado",                      /* Gmail (ES) */
    "Mensagem encaminhada",                   /* Gmail (PT) */
    "Messaggio inoltrato",                    /* Gmail (IT) */
    "Doorgestuurd bericht",                   /* Gmail (NL) */
    "Videresendt melding",                    /* Gmail (NO) */
    "Vidarebefordrat meddelande",             /* Gmail (SV) */
    "Przekazana wiadomość",                   /* Gmail (PL) */
    "Пересылаемое сообщение",                 /* Gmail (RU) */
    "Пересланий лист",                        /* Gmail (UK) */
    NULL};

/* Signature lines phones and webmail apps add below a reply. */
const struct trim_signature trim_signatures[] = {
    /* Apple Mail on iOS, Samsung, BlackBerry, K-9 (EN) */
    {"Sent from my ", NULL},
    {"Sent from Mail for Windows", NULL},    /* Windows Mail */
    {"Sent from Outlook", NULL},             /* Outlook mobile */
    {"Get Outlook for ", NULL},              /* Outlook mobile */
    {"Sent from Yahoo Mail", NULL},          /* Yahoo apps */
    {"Sent from Proton Mail", NULL},         /* Proton apps */
    {"Sent from ProtonMail", NULL},          /* Proton apps */
    {"Sent with Proton Mail", NULL},         /* Proton web */
    {"Sent from Gmail Mobile", NULL},        /* Gmail, old */
    {"Sent with my Delta Chat", NULL},       /* Delta Chat */
    {"Sent from the all new AOL app", NULL}, /* AOL */
    {"Sent via ", "Galaxy"},                 /* Samsung Email */
    /* German: iOS, Samsung, Outlook mobile, GMX/Web.de, K-9, Yahoo */
    {"Von meinem ", "gesendet"},
    {"Diese Nachricht wurde von meinem ", "gesendet"},
    {"Gesendet von meinem ", NULL},
    {"Gesendet von Mail für Windows", NULL},
    {"Gesendet von Outlook", NULL},
    {"Gesendet mit der ", "App"}, /* GMX/Web.de apps */
    {"Gesendet von Yahoo Mail", NULL},
    {"Holen Sie sich Outlook für ", NULL},
    {"Outlook für ", "herunterladen"},
    {"Von Outlook für ", "gesendet"},
    /* French: iOS, Samsung, Outlook mobile, K-9 */
    {"Envoyé de mon ", NULL},
    {"Envoyé depuis mon ", NULL},
    {"Envoyé à partir de ", NULL},
    {"Envoyé de Yahoo Mail", NULL},
    {"Obtenir Outlook pour ", NULL},
    /* Spanish, Portuguese, Italian: iOS, Outlook mobile */
    {"Enviado desde mi ", NULL},
    {"Enviado do meu ", NULL},
    {"Obtener Outlook para ", NULL},
    {"Inviato da iPhone", NULL},
    {"Inviato da iPad", NULL},
    {"Inviato dal mio ", NULL},
    {"Inviato da Outlook", NULL},
    {"Scarica Outlook per ", NULL},
    /* Dutch, Nordic: iOS, Samsung */
    {"Verstuurd vanaf mijn ", NULL},
    {"Verzonden vanaf mijn ", NULL},
    {"Verzonden met ", NULL},
    {"Sendt fra min ", NULL},
    {"Skickat från min ", NULL},
    {"Lähetetty iPhonesta", NULL},
    /* Polish, Czech: iOS, Outlook */
    {"Wysłane z ", NULL},
    {"Odesláno z ", NULL},
    /* Russian, Ukrainian: iOS, Mail.ru, Yandex */
    {"Отправлено с ", NULL},
    {"Отправлено из ", NULL},
    {"Надіслано з ", NULL},
    /* Chinese, Japanese, Korean: iOS */
    {"從我的 iPhone 傳送", NULL},
    {"从我的iPhone发送", NULL},
    {"发自我的", NULL},
    {NULL, NULL}};

/* Device or app names a signature line mentions ... */
const char *const trim_signature_devices[] = {
    "iPhone", "iPad",       "Android",  "Galaxy", "Outlook",
    "Mail",   "Samsung",    "Huawei",   "Xiaomi", "Pixel",
    "K-9",    "BlackBerry", "смартфон", NULL};
/* ... together with the word "sent" of its language. */
const char *const trim_signature_sent[] = {
    "sent",       "gesendet",  "envoyé",     "enviado", "inviato",  "verzonden",
    "verstuurd",  "sendt",     "skickat",    "wysłane", "odesláno", "lähetetty",
    "отправлено", "надіслано", "gönderildi", "送信",    "发送",     "傳送",
    "发自",       "보냄",      "απεστάλη",   NULL};

/* HTML quote and signature elements. */
const struct trim_html_marker trim_html_markers[] = {
    /* Apple Mail, Thunderbird: <blockquote type="cite"> (a blockquote is
     * a quote anyway; listed so the table names every client) */
    {"blockquote", "type", "cite", TRIM_HTML_QUOTE},
    /* Gmail: <blockquote class="gmail_quote"> */
    {"blockquote", "class", "gmail_quote", TRIM_HTML_QUOTE},
    /* Gmail: the attribution above the quote */
    {"div", "class", "gmail_attr", TRIM_HTML_QUOTE},
    /* Thunderbird: the attribution above <blockquote type="cite"> */
    {"div", "class", "moz-cite-prefix", TRIM_HTML_QUOTE},
    /* Yahoo Mail: the original, not in a blockquote */
    {"div", "class", "yahoo_quoted", TRIM_HTML_QUOTE},
    /* Proton Mail: the original */
    {"div", "class", "protonmail_quote", TRIM_HTML_QUOTE},
    /* Zoho Mail */
    {"div", "class", "zmail_extra", TRIM_HTML_QUOTE},
    /* Outlook on the web and new Outlook: the header block, with the
     * original after it outside any quote */
    {"div", "id", "divRplyFwdMsg", TRIM_HTML_QUOTE_REST},
    /* Outlook on the web: the empty div just above that block */
    {"div", "id", "appendonsend", TRIM_HTML_QUOTE_REST},
    /* Outlook for Mac */
    {"div", "id", "mail-editor-reference-message-container",
     TRIM_HTML_QUOTE_REST},
    {"span", "id", "OLK_SRC_BODY_SECTION", TRIM_HTML_QUOTE_REST},
    /* Windows Live Hotmail */
    {"hr", "id", "stopSpelling", TRIM_HTML_QUOTE_REST},
    /* Gmail: the signature block */
    {"div", "class", "gmail_signature", TRIM_HTML_SIGNATURE},
    /* Thunderbird: the signature block */
    {"div", "class", "moz-signature", TRIM_HTML_SIGNATURE},
    {"pre", "class", "moz-signature", TRIM_HTML_SIGNATURE},
    {NULL, NULL, NULL, TRIM_HTML_QUOTE}};
