import EngageClient
import Foundation

/// A person named as people name them (an email, a phone number, a user id, or `type:value`),
/// turned into the profile id messaging-send knows them by, through the Profile API's `/metadata`.
struct ProfileLookup {
    let client: SpaceClient

    enum Outcome {
        case found(profileId: String, identifier: String)
        /// What to tell the person (no such profile, or the identifier cannot be read).
        case problem(String)
    }

    /// `type:value` as typed; otherwise an email, a phone number or a user id by its look.
    static func identifier(_ typed: String) -> String {
        let text = typed.trimmingCharacters(in: .whitespacesAndNewlines)
        if let colon = text.firstIndex(of: ":"), colon != text.startIndex,
            text[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
        {
            return text
        }
        if text.contains("@") { return "email:\(text)" }
        if text.hasPrefix("+"), text.dropFirst().allSatisfy(\.isNumber) { return "phone:\(text)" }
        return "user_id:\(text)"
    }

    func resolve(_ typed: String) async throws -> Outcome {
        let identifier = Self.identifier(typed)
        let answer = try await client.profile(identifier, "metadata")
        if answer.status == 404 { return .problem("No profile is known as \(identifier).") }
        guard answer.ok, let metadata = (answer.json as? [String: Any])?["metadata"] as? [String: Any],
            let profileId = metadata["profile_id"] as? String
        else {
            return .problem("The profile \(identifier) could not be read: \(answer.problems.joined(separator: "; "))")
        }
        return .found(profileId: profileId, identifier: identifier)
    }
}
