import Foundation
import Hummingbird

/// The profiles explorer: look a person up by any identifier and see everything the services know
/// of them. Every profile has one canonical address, `/profiles/profile_id:<id>`; any other
/// identifier (or a merged-away profile id) redirects there, saying what it was looked up by.
struct ProfilesScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        let lookup = ProfileFinder(console: console)
        router.get("/profiles") { request, _ in
            let session = try console.session(request)
            let client = console.client(session)
            let types = try await lookup.types(client)
            let query = request.uri.queryParameters
            guard let type = query.get("type") else { return lookup.page(request, session, types: types) }
            let value = query.get("value")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            guard types.contains(type) else {
                return lookup.page(
                    request, session, types: types,
                    miss: .init(
                        type: "user_id", value: value, problems: ["Choose one of the identifier types listed."],
                        status: .unprocessableContent))
            }
            guard !value.isEmpty else {
                return lookup.page(
                    request, session, types: types,
                    miss: .init(
                        type: type, value: "", valueError: "Enter the identifier's value.",
                        status: .unprocessableContent))
            }
            switch try await lookup.resolve(client, type: type, value: value) {
            case .success(let metadata):
                return console.redirect(
                    ProfileFinder.href(profileId: metadata["profile_id"] as? String ?? "", via: "\(type):\(value)"))
            case .failure(let miss):
                return lookup.page(request, session, types: types, miss: miss)
            }
        }
        router.get("/profiles/:identifier") { request, context in
            let session = try console.session(request)
            let client = console.client(session)
            let raw = try context.parameters.require("identifier")
            let identifier = raw.removingPercentEncoding ?? raw
            guard let colon = identifier.firstIndex(of: ":"), colon != identifier.startIndex else {
                throw HTTPError(.notFound)
            }
            let type = String(identifier[..<colon])
            let value = String(identifier[identifier.index(after: colon)...])
            switch try await lookup.resolve(client, type: type, value: value) {
            case .success(let metadata):
                let profileId = metadata["profile_id"] as? String ?? ""
                guard type == "profile_id", value == profileId else {
                    return console.redirect(ProfileFinder.href(profileId: profileId, via: identifier))
                }
                let query = request.uri.queryParameters
                return try await ProfilePage(console: console).render(
                    request, session, metadata: metadata, via: query.get("via"), eventsCursor: query.get("events"))
            case .failure(let miss):
                return lookup.page(request, session, types: try await lookup.types(client), miss: miss)
            }
        }
    }
}
