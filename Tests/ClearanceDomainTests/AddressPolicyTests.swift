import Testing
@testable import ClearanceDomain

@Suite("Webhook address policy")
struct AddressPolicyTests {
    @Test(arguments: ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "100.63.255.255", "172.32.0.1"])
    func publicAddressesAreAllowed(_ address: String) {
        #expect(AddressPolicy.classify(address) == .publicAddress)
    }

    @Test(arguments: [
        "127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
        "0.0.0.0", "100.64.0.1", "224.0.0.1", "255.255.255.255", "198.18.0.1", "::1", "::", "fe80::1", "fd00::1",
        "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2001:db8::1", "not-an-ip",
    ])
    func privateLoopbackAndLinkLocalAreRefused(_ address: String) {
        guard case .refused = AddressPolicy.classify(address) else {
            Issue.record("\(address) should be refused")
            return
        }
    }
}
