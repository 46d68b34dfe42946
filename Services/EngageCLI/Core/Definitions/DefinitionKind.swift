import EngageClient

/// The kinds of definitions `engage export|diff|apply` manage, in the order apply creates them
/// (a kind only refers to kinds before it) and deletes them (the reverse).
public enum DefinitionKind: String, CaseIterable, Sendable, Comparable {
    case sendGrid = "sendgrid"
    case twilio
    case sendPolicy = "send-policy"
    case subscriptionGroup = "subscription-group"
    case template
    // Audiences name computed traits (`{"type": "computed_trait", ...}`), never the other way round.
    case computedTrait = "computed-trait"
    case audience
    case journey
    case destination
    case messagingDestination = "messaging-destination"

    /// Where its files live in a definitions directory: a folder of one file per definition, or
    /// one file for a space-wide setting.
    public var location: String {
        switch self {
        case .sendGrid: "providers/sendgrid.json"
        case .twilio: "providers/twilio.json"
        case .sendPolicy: "send-policy.json"
        case .subscriptionGroup: "subscription-groups"
        case .template: "templates"
        case .audience: "audiences"
        case .computedTrait: "computed-traits"
        case .journey: "journeys"
        case .destination: "destinations"
        case .messagingDestination: "messaging-destinations"
        }
    }

    /// A space-wide setting (one file): absent from a directory means "not managed", never "remove".
    public var isSetting: Bool { [.sendGrid, .twilio, .sendPolicy].contains(self) }

    /// The top-level members a file of this kind may have: anything else is a typo, refused.
    public var fields: Set<String> {
        switch self {
        case .sendGrid:
            [
                "apiKey", "subuser", "fromAddress", "fromName", "baseUrl", "eventWebhookPublicKey",
                "allowUnsignedEvents",
                "asmGroups", "messagesPerSecond",
            ]
        case .twilio:
            [
                "accountSid", "apiKeySid", "apiKeySecret", "authToken", "messagingServiceSid", "fromNumber",
                "whatsappFrom",
                "baseUrl", "helpText", "messagesPerSecond",
            ]
        case .sendPolicy: ["frequencyCap", "quietHours"]
        case .subscriptionGroup: ["name", "description"]
        case .template: ["name", "channel", "purpose", "content"]
        case .audience, .computedTrait: ["key", "name", "description", "definition"]
        case .journey: ["name", "status", "definition", "stepMapping"]
        case .destination: ["name", "url", "events", "enabled"]
        case .messagingDestination: ["name", "audienceId", "enabled", "sendToExistingMembers", "actions"]
        }
    }

    /// The member of a definition that names it, unique within its kind in a space.
    public var identityField: String {
        switch self {
        case .audience, .computedTrait: "key"
        case .sendGrid, .twilio, .sendPolicy: ""
        default: "name"
        }
    }

    public static func < (lhs: DefinitionKind, rhs: DefinitionKind) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
