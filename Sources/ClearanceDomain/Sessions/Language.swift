/// Language codes accepted for `language`, `email_language` and
/// `contact_details.email_lang` (`emails.md`).
public enum Language {
    public static let codes: [String] = [
        "en", "es", "fr", "de", "pt", "it", "ar", "bg", "bn", "ca", "cs", "da", "el", "et", "fa", "fi", "he", "hi",
        "hr", "hu", "hy", "id", "ja", "ka", "kk", "ko", "lt", "lv", "mk", "mn", "ms", "nl", "no", "pl", "pt-BR", "ro",
        "ru", "sk", "sl", "so", "sr", "sv", "th", "tr", "uk", "uz", "vi", "zh", "zh-CN", "zh-TW",
    ]
    public static let set = Set(codes)
    public static let rightToLeft: Set<String> = ["ar", "fa", "he"]

    public static func isValid(_ code: String) -> Bool { set.contains(code) }
}
