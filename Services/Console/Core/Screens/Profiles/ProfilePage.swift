import EngageClient
import Foundation
import Hummingbird

/// One profile's page: traits, identities, audiences, consent, messages and the event timeline,
/// each read from the service that owns it. A service that does not answer leaves its part out
/// with a note; the profiles service not answering fails the page (there is nothing to show).
struct ProfilePage: Sendable {
    let console: Console

    static let eventsPerPage = 25

    func render(
        _ request: Request, _ session: ConsoleSession, metadata: [String: Any], via: String?, eventsCursor: String?
    ) async throws -> Response {
        let client = console.client(session)
        let profileId = metadata["profile_id"] as? String ?? ""
        let identifier = "profile_id:" + profileId
        let segment = EngageAPI.segment(profileId)
        let merged = metadata["merged_profiles"] as? [[String: Any]] ?? []
        let mergedIds = merged.compactMap { $0["profile_id"] as? String }
        var eventsQuery = [("limit", String(Self.eventsPerPage))]
        if let eventsCursor { eventsQuery.append(("next", eventsCursor)) }

        async let traitsCall = client.profile(identifier, "traits", query: [("limit", "200")])
        async let identitiesCall = client.profile(identifier, "external_ids", query: [("limit", "200")])
        async let eventsCall = client.profile(identifier, "events", query: eventsQuery)
        async let computedCall = Self.unlessDown { try await client.get(.audiences, "/computed-traits") }
        async let audiencesCall = Self.unlessDown { try await client.get(.audiences, "/profiles/\(segment)/audiences") }
        async let messagesCall = Self.unlessDown {
            try await messages(client, profileIds: [profileId] + mergedIds)
        }
        let (traitsAnswer, identitiesAnswer, eventsAnswer) = try await (traitsCall, identitiesCall, eventsCall)
        let traits = (traitsAnswer.json as? [String: Any])?["traits"] as? [String: Any] ?? [:]
        let identityRows = identitiesAnswer.dataList
        let contacts = ProfileSections.contacts(identities: identityRows, traits: traits)
        async let consentCall = Self.unlessDown { try await consent(client, contacts: contacts) }

        var values: [String: Any] = ["profileId": profileId, "lookupHref": "/profiles"]
        values["heading"] = ProfileSections.title(traits, identities: identityRows) ?? "Profile \(profileId)"
        values["createdAt"] = DisplayText.time(metadata["created_at"])
        values["updatedAt"] = DisplayText.time(metadata["updated_at"])
        if let via { values["via"] = via }
        let mergedRows = merged.map { merge -> [String: Any] in
            let id = merge["profile_id"] as? String ?? ""
            return ["profileId": id, "mergedAt": DisplayText.time(merge["merged_at"])]
        }
        values["merged"] = mergedRows
        values["hasMerged"] = !mergedRows.isEmpty

        let computed = try await computedCall
        let computedKeys = Set((computed?.dataList ?? []).compactMap { $0["key"] as? String })
        let traitRows = ProfileSections.traits(traits, computedKeys: computedKeys)
        values["traits"] = traitRows
        values["hasTraits"] = !traitRows.isEmpty
        values["moreTraits"] = Self.hasMore(traitsAnswer)
        values["hasComputed"] = traitRows.contains { $0["computed"] as? Bool == true }
        if computed == nil { values["audiencesDown"] = true }

        let identities = ProfileSections.identities(identityRows)
        values["identities"] = identities
        values["hasIdentities"] = !identities.isEmpty

        let events = eventsAnswer.dataList.map(ProfileSections.event)
        values["events"] = events
        values["hasEvents"] = !events.isEmpty
        values["olderEvents"] = eventsCursor != nil
        if Self.hasMore(eventsAnswer), let next = Self.cursor(eventsAnswer)?["next"] as? String {
            values["olderEventsHref"] =
                ProfileFinder.href(profileId: profileId) + "?" + DisplayText.query([("events", next)]) + "#events"
        }
        values["newestEventsHref"] = ProfileFinder.href(profileId: profileId) + "#events"

        if let audiences = try await audiencesCall {
            // 404: the audiences service has not seen this profile (no event or trait has reached it).
            let memberships = audiences.ok ? audiences.dataList.map(ProfileSections.membership) : []
            values["memberships"] = memberships
            values["hasMemberships"] = !memberships.isEmpty
        } else {
            values["audiencesDown"] = true
        }

        if let sent = try await messagesCall {
            values["messages"] = sent
            values["hasMessages"] = !sent.isEmpty
        } else {
            values["messagingDown"] = true
        }

        if let consent = try await consentCall {
            values["consent"] = consent
            values["hasContacts"] = !consent.isEmpty
        } else {
            values["subscriptionsDown"] = true
        }

        return console.page(
            "profiles-profile", title: values["heading"] as? String ?? "Profile", section: .profiles,
            session: session, request: request, values: values)
    }

    /// A part from another service, or nil while that service does not answer.
    static func unlessDown<T>(_ body: () async throws -> T) async throws -> T? {
        do {
            return try await body()
        } catch EngageFailure.unreachable {
            return nil
        }
    }

    static func cursor(_ answer: EngageResponse) -> [String: Any]? {
        (answer.json as? [String: Any])?["cursor"] as? [String: Any]
    }

    static func hasMore(_ answer: EngageResponse) -> Bool { cursor(answer)?["has_more"] as? Bool == true }

    /// The newest messages of the profile and of the profiles merged into it (a message keeps the
    /// profile id it was requested for).
    private func messages(_ client: SpaceClient, profileIds: [String]) async throws -> [[String: Any]] {
        var all: [[String: Any]] = []
        for id in profileIds.prefix(10) {
            let answer = try await client.get(.messaging, "/messages", query: [("profileId", id), ("limit", "25")])
            all += answer.dataList
        }
        all.sort { ($0["requestedAt"] as? String ?? "") > ($1["requestedAt"] as? String ?? "") }
        return all.prefix(25).map(ProfileSections.message)
    }

    /// Each contact's states and newest changes.
    private func consent(_ client: SpaceClient, contacts: [String]) async throws -> [[String: Any]] {
        var result: [[String: Any]] = []
        for contact in contacts {
            async let statesCall = client.get(.subscriptions, "/messaging-subscriptions", query: [("key", contact)])
            async let historyCall = client.get(
                .subscriptions, "/messaging-subscriptions/history", query: [("key", contact), ("limit", "10")])
            let (states, history) = try await (statesCall, historyCall)
            var row: [String: Any] = [
                "contact": contact, "href": "/subscriptions?" + DisplayText.query([("key", contact)]),
            ]
            if states.ok {
                row["channels"] = (states.dataObject["channels"] as? [[String: Any]] ?? []).map(ConsentDisplay.channel)
                let entries = history.dataList.map(ConsentDisplay.historyEntry)
                row["history"] = entries
                row["hasHistory"] = !entries.isEmpty
            } else {
                row["invalid"] = states.problems.joined(separator: " ")
            }
            result.append(row)
        }
        return result
    }
}
