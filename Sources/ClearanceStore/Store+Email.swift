import ClearanceDomain

extension Store {
    /// This store, with emails signed by `sender` and linking under `linkBase`.
    public func withEmail(sender: EmailSender, linkBase: String) -> Store {
        var copy = self
        copy.emailSender = sender
        copy.emailLinkBase = linkBase
        return copy
    }
}
