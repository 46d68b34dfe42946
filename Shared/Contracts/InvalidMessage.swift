import Foundation

/// Why a message (HTTP body or topic record) was refused. The text goes back to the caller (HTTP
/// 400) or into the dead-letter record, so it names the field and the rule.
public struct InvalidMessage: Error, Equatable, CustomStringConvertible, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// A readable one-line reason for a DecodingError, naming the field path.
public enum DecodingErrorDescription {
    public static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [CodingKey]) -> String {
            let text = codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.isEmpty ? "body" : String(text.drop(while: { $0 == "." }))
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])) is required"
        case .typeMismatch(_, let context): return "\(path(context.codingPath)): \(context.debugDescription)"
        case .valueNotFound(_, let context): return "\(path(context.codingPath)) must not be null"
        case .dataCorrupted(let context): return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

extension InvalidMessage {
    /// Decodes one topic record of a platform contract, or says precisely why it is not one.
    public static func decodeRecord<T: Decodable>(_ type: T.Type, contract: String, from value: [UInt8]?)
        throws(InvalidMessage) -> T
    {
        guard let value, !value.isEmpty else { throw InvalidMessage("empty record") }
        if let problem = StorableText.problem(inJSON: value) {
            throw InvalidMessage("not a \(contract) record: \(problem)")
        }
        do {
            return try WireDecoder.decode(T.self, from: value)
        } catch let error as DecodingError {
            throw InvalidMessage("not a \(contract) record: \(DecodingErrorDescription.describe(error))")
        } catch {
            throw InvalidMessage("not a \(contract) record: \(error)")
        }
    }
}
