import ClearanceDomain

extension ServerConfiguration {
    /// This configuration with emails signed by `sender`.
    public func sending(as sender: EmailSender) -> ServerConfiguration {
        var copy = self
        copy.emailSender = sender
        return copy
    }
}
