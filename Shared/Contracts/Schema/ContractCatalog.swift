/// Every contract on the platform's topics, by its `contract` header value: what gets a published
/// JSON Schema (Shared/Contracts/Schemas) and a compatibility check.
public enum ContractCatalog {
    public static let all: [(contract: String, type: any Decodable.Type)] = [
        (ProfileEvent.contract, ProfileEvent.self),
        (ProfileUpdate.contract, ProfileUpdate.self),
        (SpaceAccess.contract, SpaceAccess.self),
        (SubscriptionCommandBatch.contract, SubscriptionCommandBatch.self),
        (SubscriptionCommandResult.contract, SubscriptionCommandResult.self),
        (SubscriptionChange.contract, SubscriptionChange.self),
        (SubscriptionGroupRecord.contract, SubscriptionGroupRecord.self),
        (AudienceMembershipEvent.contract, AudienceMembershipEvent.self),
        (AudienceChange.contract, AudienceChange.self),
        (TemplateChange.contract, TemplateChange.self),
        (MessageRequest.contract, MessageRequest.self),
        (MessageEvent.contract, MessageEvent.self),
        (JourneyEvent.contract, JourneyEvent.self),
        (DeadLetter.contract, DeadLetter.self),
    ]

    /// `profile-event/1` → `profile-event-1.schema.json`
    public static func fileName(of contract: String) -> String {
        contract.replacingOccurrences(of: "/", with: "-") + ".schema.json"
    }

    public static func schema(of type: any Decodable.Type) throws -> ContractSchema {
        try SchemaProbe.erasedSchema(of: type)
    }
}
