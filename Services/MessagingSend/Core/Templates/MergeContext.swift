import Contracts
import Foundation
import Persistence
@preconcurrency import Stencil

/// The variables a template sees: `profile.id`, `profile.user_id`, `profile.email`,
/// `profile.phone`, `profile.traits.<name>`, and the links the platform provides.
public struct MergeContext: Sendable {
    public var profile: ProfileSnapshot
    public var links: [String: String]

    public init(profile: ProfileSnapshot, links: [String: String]) {
        self.profile = profile
        self.links = links
    }

    /// Used to check templates on save: every variable a real send can have.
    public static let sample = MergeContext(
        profile: ProfileSnapshot(
            profileId: "prf_sample", userId: "user-1", email: "person@example.com", phone: "+14155550100",
            traits: ["first_name": "Ada"]),
        links: Dictionary(uniqueKeysWithValues: LiquidTemplates.linkVariables.map { ($0, "https://example.com/\($0)") })
    )

    public var values: [String: Any] {
        var profileMembers: [String: JSONValue] = ["id": .string(profile.profileId), "traits": .object(profile.traits)]
        if let userId = profile.userId { profileMembers["user_id"] = .string(userId) }
        if let email = profile.email { profileMembers["email"] = .string(email) }
        if let phone = profile.phone { profileMembers["phone"] = .string(phone) }
        var values: [String: Any] = ["profile": MergeObject(members: profileMembers)]
        for (name, url) in links { values[name] = url }
        return values
    }

    /// JSON values as the values Stencil resolves and prints (whole numbers without `.0`).
    static func plain(_ value: JSONValue) -> Any {
        switch value {
        case .null: return ""  // prints as nothing; `default` replaces it
        case .bool(let flag): return flag
        case .number(let number):
            if let integer = JSONValue.exactInteger(number) { return integer }
            return LargeInteger(exactly: number)?.description ?? number
        case .largeInteger(let integer): return integer.description  // its exact digits; a Double would round them
        case .string(let text): return text
        case .array(let items): return items.map(plain)
        case .object(let members): return MergeObject(members: members)
        }
    }
}

/// A JSON object as a template sees it, its members converted one at a time when a tag reaches
/// them. Stencil copies a `[String: Any]` (recursively) at every step of a dotted path, so a
/// profile with many traits as a dictionary made `{{profile.traits.first_name}}` cost a copy of
/// every trait; that copying was most of a send's rendering time.
struct MergeObject: DynamicMemberLookup, CustomStringConvertible {
    let members: [String: JSONValue]

    subscript(dynamicMember member: String) -> Any? {
        if let value = members[member] { return MergeContext.plain(value) }
        return member == "count" ? members.count : nil
    }

    /// An object printed whole (`{{profile.traits}}`) shows as JSON.
    var description: String { JSONValue.object(members).json }
}
