import Contracts
import Foundation

/// One remembered event: when it happened (epoch seconds), its id (so that a backfill and the live
/// stream can both add it without counting it twice), and a property value where one matters.
public struct StateEntry: Sendable, Hashable {
    public var time: Double
    public var id: String
    public var value: JSONValue?

    public init(time: Double, id: String, value: JSONValue? = nil) {
        self.time = time
        self.id = id
        self.value = value
    }
}

/// What this service knows of one profile: identifiers, traits, the state of every event
/// condition and computed trait (bounded), computed values, and audience memberships. Stored as
/// one row; every change to a profile happens under that row's lock.
public struct ProfileState: Sendable, Equatable {
    public var profileId: String
    public var userId: String?
    public var email: String?
    public var phone: String?
    public var anonymousIds: [String] = []
    public var traits: [String: JSONValue] = [:]
    /// Event-condition and computed-trait state by state key.
    public var entries: [String: [StateEntry]] = [:]
    /// The current value of each computed trait, by the trait's key.
    public var computed: [String: JSONValue] = [:]
    /// Ids of the audiences the profile is a member of.
    public var memberOf: Set<String> = []
    public var mergedInto: String?

    public init(profileId: String) { self.profileId = profileId }

    /// Adds entries to a state key: a union by id (idempotent), then trimmed by `trim`.
    mutating func add(_ new: [StateEntry], to key: String, trim: (inout [StateEntry]) -> Void) {
        var list = entries[key] ?? []
        let known = Set(list.map(\.id))
        var added = false
        for entry in new where !known.contains(entry.id) {
            list.append(entry)
            added = true
        }
        guard added else { return }
        trim(&list)
        entries[key] = list.isEmpty ? nil : list
    }

    /// The anonymous ids kept for destinations: a few, newest last.
    static let maxAnonymousIds = 10

    mutating func learn(_ ids: [ExternalID]) {
        for id in ids {
            switch id.type {
            case "user_id": userId = id.id
            case "email": email = (try? ContactNormalizer.email(id.id)) ?? id.id.lowercased()
            case "phone": phone = (try? ContactNormalizer.phone(id.id)) ?? id.id
            case "anonymous_id":
                if !anonymousIds.contains(id.id) {
                    anonymousIds.append(id.id)
                    if anonymousIds.count > Self.maxAnonymousIds { anonymousIds.removeFirst() }
                }
            default: break
            }
        }
    }

    /// The email and phone consent is looked up by: identifiers first, then the traits.
    var contactEmail: String? {
        email ?? traits["email"]?.stringValue.flatMap { try? ContactNormalizer.email($0) }
    }

    var contactPhone: String? {
        phone ?? traits["phone"]?.stringValue.flatMap { try? ContactNormalizer.phone($0) }
    }
}

// MARK: storage form

extension ProfileState {
    /// `{"key": [[time, "id"], [time, "id", value]], ...}`: compact, and read back without Foundation.
    var entriesJSON: String {
        JSONValue.object(
            entries.mapValues { list in
                .array(
                    list.map { entry in
                        var item: [JSONValue] = [.number(entry.time), .string(entry.id)]
                        if let value = entry.value { item.append(value) }
                        return .array(item)
                    })
            }
        ).json
    }

    static func entries(fromJSON text: String) -> [String: [StateEntry]] {
        guard case .object(let members)? = try? JSONParser.parse(Array(text.utf8)) else { return [:] }
        var result: [String: [StateEntry]] = [:]
        for (key, value) in members {
            result[key] = (value.arrayValue ?? []).compactMap { item in
                guard let parts = item.arrayValue, parts.count >= 2, case .number(let time) = parts[0],
                    case .string(let id) = parts[1]
                else { return nil }
                // Not a ternary: JSONValue is nil-literal expressible, so `: nil` there would mean JSON null.
                var value: JSONValue?
                if parts.count > 2 { value = parts[2] }
                return StateEntry(time: time, id: id, value: value)
            }
        }
        return result
    }
}
