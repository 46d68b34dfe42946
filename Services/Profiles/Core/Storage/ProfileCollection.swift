/// Segment's two collections of profiles: people (`users`) and the accounts they belong to
/// (`accounts`, built from `group` calls). Each keeps its traits in a table of its own.
public enum ProfileCollection: String, Sendable, Hashable {
    case users, accounts

    /// The table of the collection's profiles (`id`, `created_at`, first and last message...).
    var profilesTable: String { self == .users ? "profiles" : "accounts" }
    /// The traits table and its owner column (constants, spliced into SQL).
    var traitsTable: String { self == .users ? "traits" : "account_traits" }
    var traitsOwner: String { self == .users ? "profile_id" : "account_id" }
    /// The `events` column naming a profile of this collection.
    var eventsOwner: String { self == .users ? "profile_id" : "account_id" }
}

/// One profile of a collection, by its canonical id (`use_…` for users, `acc_…` for accounts).
public struct ProfileRef: Sendable, Hashable {
    public var collection: ProfileCollection
    public var id: String

    public init(_ collection: ProfileCollection, _ id: String) {
        self.collection = collection
        self.id = id
    }
}
