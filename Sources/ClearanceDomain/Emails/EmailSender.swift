/// Who signs the emails: the organisation's name and its sending address.
public struct EmailSender: Sendable, Equatable {
    public static let defaultAddress = "no-reply@clearance.local"

    public var name: String
    public var address: String

    public init(name: String = "Clearance", address: String = EmailSender.defaultAddress) {
        self.name = name
        self.address = address
    }
}
