import Contracts
import Foundation
import Hummingbird
import ServiceKit

/// `/spaces/{id}/messaging/send-policy`: the space's frequency cap and quiet hours. GET answers
/// `{"frequencyCap": null, "quietHours": null}` until one is set; PUT replaces the whole policy
/// (null or absent parts switch that limit off).
struct SendPolicyRoutes: Sendable {
    let auth: SpaceTokenAuth
    let policies: SendPolicyStore

    struct Body: Decodable {
        struct Cap: Decodable {
            var messages: Int?
            var windowSeconds: Int?
        }
        struct Quiet: Decodable {
            var start: String?
            var end: String?
            var timeZoneTrait: String?
            var defaultTimeZone: String?
        }
        var frequencyCap: Cap?
        var quietHours: Quiet?
    }

    /// Encodes absent limits as null, so a reader sees both keys.
    struct View: Encodable {
        var policy: SendPolicy
        enum CodingKeys: String, CodingKey { case frequencyCap, quietHours }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(policy.frequencyCap, forKey: .frequencyCap)
            try container.encode(policy.quietHours, forKey: .quietHours)
        }
    }

    func register<Context: RequestContext>(on space: RouterGroup<Context>) {
        space.get("/messaging/send-policy") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            return try JSONBody.response(
                DataEnvelope(data: View(policy: try await policies.policy(spaceId: spaceId) ?? SendPolicy())))
        }
        space.put("/messaging/send-policy") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let body = try await JSONBody.decode(Body.self, from: request)
            var policy = SendPolicy()
            var missing: [String] = []
            if let cap = body.frequencyCap {
                if cap.messages == nil { missing.append("frequencyCap.messages is required") }
                if cap.windowSeconds == nil { missing.append("frequencyCap.windowSeconds is required") }
                policy.frequencyCap = .init(messages: cap.messages ?? 0, windowSeconds: cap.windowSeconds ?? 0)
            }
            if let quiet = body.quietHours {
                if quiet.start == nil { missing.append("quietHours.start is required") }
                if quiet.end == nil { missing.append("quietHours.end is required") }
                policy.quietHours = .init(
                    start: quiet.start ?? "", end: quiet.end ?? "", timeZoneTrait: quiet.timeZoneTrait ?? "timezone",
                    defaultTimeZone: quiet.defaultTimeZone ?? "UTC")
            }
            // Missing fields first: range checks on placeholder values would only repeat them.
            let problems = missing.isEmpty ? policy.problems() : missing
            guard problems.isEmpty else {
                throw APIError(
                    .unprocessableContent, code: "invalid_send_policy", message: problems.joined(separator: "; "),
                    problems: problems)
            }
            try await policies.save(spaceId: spaceId, policy: policy)
            return try JSONBody.response(DataEnvelope(data: View(policy: policy)))
        }
    }
}
