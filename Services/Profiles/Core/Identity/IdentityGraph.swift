import Foundation

/// The part of a space's identity graph that a batch of messages touches, resolved in memory.
///
/// Loaded from Postgres under locks, mutated message by message (so later messages of a batch see
/// earlier ones), then written back as one set of changes. Pure: no I/O, unit-tested directly.
public struct IdentityGraph: Sendable {
    public struct Profile: Sendable, Hashable {
        public var id: String
        public var createdAt: Date
        /// Each identifier with when it was added (limits with a window count recent values only).
        public var identifiers: [Identifier: Date]
        /// How many profiles were merged into this one, directly or through them.
        public var mergeCount: Int

        public init(id: String, createdAt: Date, identifiers: [Identifier: Date] = [:], mergeCount: Int = 0) {
            self.id = id
            self.createdAt = createdAt
            self.identifiers = identifiers
            self.mergeCount = mergeCount
        }
    }

    /// Segment's caps per profile: past them nothing more is joined or attached; messages still resolve.
    /// They keep one runaway identifier (a shared device, a bot) from folding everyone into one profile.
    public static let maxMerges = 100
    public static let maxIdentifiers = 1_000

    /// What one message resolved to.
    public struct Resolution: Sendable, Equatable {
        public var profileId: String
        public var created: Bool
        /// Profiles merged into `profileId` by this message.
        public var merged: [String]
        /// Identifiers newly attached to `profileId` by this message.
        public var added: [Identifier]
        /// Identifiers of the message left out because keeping them would break a limit.
        public var dropped: [Identifier]
    }

    public private(set) var profiles: [String: Profile]
    public private(set) var owners: [Identifier: String]
    /// Profiles merged away during this batch, and where they went.
    public private(set) var mergedInto: [String: String] = [:]
    public private(set) var createdProfiles: Set<String> = []
    private let makeId: @Sendable () -> String

    public init(profiles: [Profile], makeId: @escaping @Sendable () -> String) {
        self.profiles = Dictionary(profiles.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var owners: [Identifier: String] = [:]
        for profile in profiles {
            for identifier in profile.identifiers.keys { owners[identifier] = profile.id }
        }
        self.owners = owners
        self.makeId = makeId
    }

    /// Where `profileId` lives now, following merges made in this batch.
    public func canonical(_ profileId: String) -> String {
        var current = profileId
        while let next = mergedInto[current] { current = next }
        return current
    }

    /// Resolves one message's identifiers (ordered most important first) at time `now`:
    /// create a profile, add to one, or merge several, unless a limit would break; then drop the
    /// lowest-priority identifier of the message and try again (Segment Unify's behaviour).
    public mutating func resolve(_ identifiers: [Identifier], extractor: IdentifierExtractor, now: Date) -> Resolution {
        var candidates = identifiers
        var dropped: [Identifier] = []
        while true {
            var matched: [String] = []
            for identifier in candidates {
                if let owner = owners[identifier], !matched.contains(owner) { matched.append(owner) }
            }
            if matched.isEmpty {
                let (kept, overLimit) = withinLimits(candidates, extractor: extractor)
                let id = makeId()
                profiles[id] = Profile(
                    id: id, createdAt: now,
                    identifiers: Dictionary(kept.map { ($0, now) }, uniquingKeysWith: { a, _ in a }))
                for identifier in kept { owners[identifier] = id }
                createdProfiles.insert(id)
                return Resolution(profileId: id, created: true, merged: [], added: kept, dropped: dropped + overLimit)
            }
            if !breaksLimit(matched: matched, adding: candidates, extractor: extractor, now: now)
                || candidates.count <= 1
            {
                return attach(candidates, to: matched, dropped: dropped, now: now)
            }
            dropped.append(candidates.removeLast())
        }
    }

    /// A new profile keeps at most `limit` values of each type from one message.
    private func withinLimits(_ identifiers: [Identifier], extractor: IdentifierExtractor) -> (
        kept: [Identifier], dropped: [Identifier]
    ) {
        var perType: [String: Int] = [:]
        var kept: [Identifier] = []
        var dropped: [Identifier] = []
        for identifier in identifiers {
            let count = perType[identifier.type, default: 0]
            if count < extractor.rule(for: identifier.type).limit {
                kept.append(identifier)
                perType[identifier.type] = count + 1
            } else {
                dropped.append(identifier)
            }
        }
        return (kept, dropped)
    }

    /// True when joining `matched` profiles and `adding` would leave some type over its limit.
    /// A type already over its limit on a single profile (a limit lowered later) is not made worse
    /// by a change that brings it no new value, so it does not count.
    private func breaksLimit(matched: [String], adding: [Identifier], extractor: IdentifierExtractor, now: Date) -> Bool
    {
        var union: [String: Set<String>] = [:]
        var largestSingle: [String: Int] = [:]
        for profileId in matched {
            guard let profile = profiles[profileId] else { continue }
            var counts: [String: Int] = [:]
            for (identifier, addedAt) in profile.identifiers {
                let rule = extractor.rule(for: identifier.type)
                if let window = rule.window, now.timeIntervalSince(addedAt) > window { continue }
                union[identifier.type, default: []].insert(identifier.value)
                counts[identifier.type, default: 0] += 1
            }
            for (type, count) in counts { largestSingle[type] = max(largestSingle[type] ?? 0, count) }
        }
        for identifier in adding { union[identifier.type, default: []].insert(identifier.value) }
        for (type, values) in union {
            let limit = extractor.rule(for: type).limit
            if values.count > limit && values.count > (largestSingle[type] ?? 0) { return true }
        }
        return false
    }

    private mutating func attach(_ identifiers: [Identifier], to matched: [String], dropped: [Identifier], now: Date)
        -> Resolution
    {
        // The oldest profile survives a merge: its id is the one most likely already known elsewhere.
        let survivorId = matched.min { lhs, rhs in
            let left = profiles[lhs]?.createdAt ?? now
            let right = profiles[rhs]?.createdAt ?? now
            return left != right ? left < right : lhs < rhs
        }!
        var survivor = profiles[survivorId]!
        let losers = matched.filter { $0 != survivorId }
        let mergesAfter = losers.reduce(survivor.mergeCount) { $0 + (profiles[$1]?.mergeCount ?? 0) + 1 }
        if !losers.isEmpty && mergesAfter > Self.maxMerges {
            let elsewhere = identifiers.filter { owners[$0] != survivorId }
            return Resolution(
                profileId: survivorId, created: false, merged: [], added: [], dropped: dropped + elsewhere)
        }
        survivor.mergeCount = mergesAfter
        var merged: [String] = []
        for loserId in losers {
            guard let loser = profiles.removeValue(forKey: loserId) else { continue }
            for (identifier, addedAt) in loser.identifiers {
                survivor.identifiers[identifier] = min(addedAt, survivor.identifiers[identifier] ?? addedAt)
                owners[identifier] = survivorId
            }
            mergedInto[loserId] = survivorId
            merged.append(loserId)
        }
        var added: [Identifier] = []
        var overCap: [Identifier] = []
        for identifier in identifiers where owners[identifier] == nil {
            guard survivor.identifiers.count < Self.maxIdentifiers else {
                overCap.append(identifier)
                continue
            }
            survivor.identifiers[identifier] = now
            owners[identifier] = survivorId
            added.append(identifier)
        }
        profiles[survivorId] = survivor
        return Resolution(
            profileId: survivorId, created: false, merged: merged, added: added, dropped: dropped + overCap)
    }
}
