/// A setting with a bad value: printed as one line naming the setting, and
/// the process exits with status 2.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var setting: String
    public var message: String

    public init(setting: String, _ message: String) {
        self.setting = setting
        self.message = message
    }

    public var description: String { "\(setting): \(message)" }
}
