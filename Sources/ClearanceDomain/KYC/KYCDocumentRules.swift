import Foundation

/// What a KYC document upload must be: one of four formats whose leading
/// bytes match the declared MIME type, at most 25 MiB decoded.
public enum KYCDocumentRules {
    public static let maxBytes = 25 * 1024 * 1024
    public static let fileNameLimit = 255

    public enum MIME: String, Sendable, CaseIterable {
        case pdf = "application/pdf"
        case jpeg = "image/jpeg"
        case png = "image/png"
        case webp = "image/webp"

        /// True when `bytes` start with this format's signature.
        public func matches(_ bytes: some Collection<UInt8>) -> Bool {
            let head = Array(bytes.prefix(12))
            func starts(_ prefix: [UInt8]) -> Bool { head.count >= prefix.count && Array(head.prefix(prefix.count)) == prefix }
            switch self {
            case .pdf: return starts(Array("%PDF-".utf8))
            case .jpeg: return starts([0xFF, 0xD8, 0xFF])
            case .png: return starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            case .webp: return head.count == 12 && starts(Array("RIFF".utf8)) && Array(head[8..<12]) == Array("WEBP".utf8)
            }
        }

        /// The format the bytes are, whatever was declared.
        public static func sniff(_ bytes: some Collection<UInt8>) -> MIME? { allCases.first { $0.matches(bytes) } }
    }

    public struct Upload: Sendable, Equatable {
        public var type: KYCDocumentType
        public var fileName: String
        public var mime: MIME
        public var bytes: Data
    }

    /// Checks every field; every issue is listed.
    public static func check(type: String, fileName: String, mimeType: String, fileData: String) -> Result<Upload, ValidationFailure> {
        var issues: [FieldIssue] = []
        let documentType = KYCDocumentType(rawValue: type)
        if documentType == nil {
            issues.append(FieldIssue(path: "type", message: "Must be one of \(KYCDocumentType.allCases.map(\.rawValue).joined(separator: ", ")).")) 
        }
        let name = fileName.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty || name.count > fileNameLimit || !FieldRules.isPlainText(name) || name.contains("/") || name.contains("\\") {
            issues.append(FieldIssue(path: "fileName", message: "Must be 1 to \(fileNameLimit) characters, without path separators or control characters."))
        }
        let mime = MIME(rawValue: mimeType.lowercased())
        if mime == nil {
            issues.append(FieldIssue(path: "mimeType", message: "Must be one of \(MIME.allCases.map(\.rawValue).joined(separator: ", ")).")) 
        }
        // Decoded size from the text length first, so an oversize upload is refused before decoding it.
        let estimated = fileData.utf8.count / 4 * 3
        var bytes: Data?
        if estimated > maxBytes + 3 {
            issues.append(FieldIssue(path: "fileData", message: "Must be at most \(maxBytes) bytes (25 MiB) decoded."))
        } else if let decoded = Data(base64Encoded: fileData), !decoded.isEmpty {
            if decoded.count > maxBytes {
                issues.append(FieldIssue(path: "fileData", message: "Must be at most \(maxBytes) bytes (25 MiB) decoded."))
            } else if let mime, !mime.matches(decoded) {
                let actual = MIME.sniff(decoded).map { " (the bytes are \($0.rawValue))" } ?? ""
                issues.append(FieldIssue(path: "fileData", message: "The content does not match mimeType \(mime.rawValue)\(actual)."))
            } else {
                bytes = decoded
            }
        } else {
            issues.append(FieldIssue(path: "fileData", message: "Must be non-empty standard base64."))
        }
        guard issues.isEmpty, let documentType, let mime, let bytes else { return .failure(ValidationFailure(issues)) }
        return .success(Upload(type: documentType, fileName: name, mime: mime, bytes: bytes))
    }
}
