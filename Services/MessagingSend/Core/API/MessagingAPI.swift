import Contracts
import Foundation
import Hummingbird
import Kafka
import Logging
import Persistence
import ServiceKit

/// The messaging API under `/spaces/{space_id}`, authenticated with a space access token:
/// templates (versioned), preview and test sends, provider settings with verification, "send
/// now", and message status.
public struct MessagingAPI: Sendable {
    let auth: SpaceTokenAuth
    let templates: TemplateStore
    let providers: ProviderStore
    let verifier: ProviderVerifier
    let replicas: ReplicaStore
    let messages: MessageStore
    let producer: KafkaProducer
    let publicURL: String
    let policies: SendPolicyStore

    public init(
        auth: SpaceTokenAuth, templates: TemplateStore, providers: ProviderStore, verifier: ProviderVerifier,
        replicas: ReplicaStore,
        messages: MessageStore, producer: KafkaProducer, publicURL: String, policies: SendPolicyStore
    ) {
        self.policies = policies
        self.auth = auth
        self.templates = templates
        self.providers = providers
        self.verifier = verifier
        self.replicas = replicas
        self.messages = messages
        self.producer = producer
        self.publicURL = publicURL
    }

    struct TemplateBody: Decodable {
        var name: String?
        var channel: String?
        var purpose: String?
        /// Read strictly (`TemplateContent.strict`): an unknown field is refused by name.
        var content: JSONValue?
    }

    struct PreviewBody: Decodable {
        var profileId: String?
        var version: Int?
        var traits: [String: JSONValue]?
        /// A draft to render instead of a stored version (an editor's unsaved content), read
        /// strictly like a template's.
        var content: JSONValue?
        /// `POST /templates/preview` only: the draft's channel and purpose (a template not saved yet).
        var channel: String?
        var purpose: String?
    }

    struct SendBody: Decodable {
        var id: String?
        var profileId: String?
        var channel: String?
        var templateId: String?
        var templateVersion: Int?
        var purpose: String?
        var group: String?
        var from: String?
        var journeyId: String?
        var journeyStepId: String?
        var broadcastId: String?
    }

    struct Accepted: Encodable { var messageId: String }
    struct Preview: Encodable {
        /// Absent for a draft of a template not saved yet; `version` also for any draft.
        var templateId: String?
        var version: Int?
        var rendered: RenderedContent
        /// A draft's only: what saving it would be refused for. The preview renders anyway, so an
        /// editor can show both while the person types.
        var saveProblems: [TemplateProblem]?
    }
    /// The platform's error shape plus every problem with its field and position.
    struct ProblemBody: Encodable {
        struct Inner: Encodable {
            var code: String
            var message: String
        }
        var code: String
        var message: String
        var error: Inner
        var problems: [TemplateProblem]
        init(code: String = "invalid_template", message: String, problems: [TemplateProblem]) {
            self.code = code
            self.message = message
            self.error = Inner(code: code, message: message)
            self.problems = problems
        }
    }

    public func register<Context: RequestContext>(on router: Router<Context>) {
        let space = router.group("/spaces/:space_id")
        space.post("/templates") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let body = try await JSONBody.decode(TemplateBody.self, from: request)
            guard let name = body.name?.trimmingCharacters(in: .whitespaces), !name.isEmpty, name.count <= 200 else {
                throw APIError.badRequest("name is required (at most 200 characters)")
            }
            guard let channel = body.channel.flatMap(SubscriptionChannel.init(loose:)) else {
                throw APIError.badRequest("channel must be EMAIL, SMS or WHATSAPP")
            }
            let purpose = try Self.purpose(body.purpose)
            guard let content = body.content else { throw APIError.badRequest("content is required") }
            let checked = try Self.checked(try Self.strict(content), channel: channel, purpose: purpose)
            do {
                let record = try await templates.create(
                    spaceId: spaceId, name: name, channel: channel, purpose: purpose, content: checked)
                return try JSONBody.response(DataEnvelope(data: record), status: .created)
            } catch TemplateStore.StoreError.duplicateName(let name) {
                throw APIError.conflict("a \(channel.rawValue) template named \"\(name)\" already exists")
            }
        }
        space.get("/templates") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let channel = try request.uri.queryParameters["channel"].map { text in
                guard let channel = SubscriptionChannel(loose: String(text)) else {
                    throw APIError.badRequest("channel must be EMAIL, SMS or WHATSAPP")
                }
                return channel
            }
            return try JSONBody.response(
                DataEnvelope(data: try await templates.list(spaceId: spaceId, channel: channel)))
        }
        space.get("/templates/:template_id") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let id = try context.parameters.require("template_id")
            let version = try request.uri.queryParameters["version"].map { text in
                guard let version = Int(String(text)), version > 0 else {
                    throw APIError.badRequest("version must be a positive integer")
                }
                return version
            }
            guard let record = try await templates.record(spaceId: spaceId, id: id, version: version) else {
                throw APIError.notFound(
                    "no template \(id)\(version.map { " version \($0)" } ?? "") in space \(spaceId)")
            }
            return try JSONBody.response(DataEnvelope(data: record))
        }
        space.get("/templates/:template_id/versions") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let id = try context.parameters.require("template_id")
            let list = try await templates.versionList(spaceId: spaceId, id: id)
            guard !list.isEmpty else { throw APIError.notFound("no template \(id) in space \(spaceId)") }
            return try JSONBody.response(DataEnvelope(data: list))
        }
        space.put("/templates/:template_id") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let id = try context.parameters.require("template_id")
            let body = try await JSONBody.decode(TemplateBody.self, from: request)
            guard let existing = try await templates.record(spaceId: spaceId, id: id, version: nil) else {
                throw APIError.notFound("no template \(id) in space \(spaceId)")
            }
            if let channel = body.channel, SubscriptionChannel(loose: channel) != existing.channel {
                throw APIError.badRequest("a template's channel cannot change (it is \(existing.channel.rawValue))")
            }
            guard let content = body.content else {
                throw APIError.badRequest("content is required: an edit writes a new version")
            }
            let checked = try Self.checked(
                try Self.strict(content), channel: existing.channel, purpose: existing.purpose)
            do {
                guard
                    let record = try await templates.update(spaceId: spaceId, id: id, name: body.name, content: checked)
                else {
                    throw APIError.notFound("no template \(id) in space \(spaceId)")
                }
                return try JSONBody.response(DataEnvelope(data: record))
            } catch TemplateStore.StoreError.duplicateName(let name) {
                throw APIError.conflict("a template named \"\(name)\" already exists")
            }
        }
        space.delete("/templates/:template_id") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let id = try context.parameters.require("template_id")
            guard try await templates.delete(spaceId: spaceId, id: id) else {
                throw APIError.notFound("no template \(id) in space \(spaceId)")
            }
            return Response(status: .noContent)
        }
        space.post("/templates/:template_id/preview") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let id = try context.parameters.require("template_id")
            let body = try await JSONBody.decode(PreviewBody.self, from: request)
            if body.content != nil, body.version != nil {
                throw APIError.badRequest("send either content (a draft) or version (a stored one), not both")
            }
            guard let record = try await templates.record(spaceId: spaceId, id: id, version: body.version) else {
                throw APIError.notFound("no template \(id) in space \(spaceId)")
            }
            let profile = try await previewProfile(spaceId: spaceId, body)
            guard let draft = body.content else {
                let rendered = try Self.render(record.content, for: profile, links: previewLinks, cached: true)
                return try JSONBody.response(
                    DataEnvelope(data: Preview(templateId: id, version: record.version, rendered: rendered)))
            }
            let preview = try Self.previewDraft(
                draft, channel: record.channel, purpose: record.purpose, for: profile, links: previewLinks)
            return try JSONBody.response(DataEnvelope(data: Preview(templateId: id, version: nil, preview)))
        }
        // A template not saved yet: its channel, purpose and content come with the request.
        space.post("/templates/preview") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let body = try await JSONBody.decode(PreviewBody.self, from: request)
            guard let channel = body.channel.flatMap(SubscriptionChannel.init(loose:)) else {
                throw APIError.badRequest("channel must be EMAIL, SMS or WHATSAPP")
            }
            let purpose = try Self.purpose(body.purpose)
            guard let draft = body.content else {
                throw APIError.badRequest("content is required: the draft to preview")
            }
            let profile = try await previewProfile(spaceId: spaceId, body)
            let preview = try Self.previewDraft(
                draft, channel: channel, purpose: purpose, for: profile, links: previewLinks)
            return try JSONBody.response(DataEnvelope(data: Preview(templateId: nil, version: nil, preview)))
        }
        space.post("/templates/:template_id/test-sends") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let id = try context.parameters.require("template_id")
            let body = try await JSONBody.decode(PreviewBody.self, from: request)
            guard let profileId = body.profileId else {
                throw APIError.badRequest("profileId (the test profile) is required")
            }
            guard body.content == nil else {
                throw APIError.badRequest("a test send sends a stored version: save the draft first")
            }
            if let version = body.version, version < 1 { throw APIError.badRequest("version must be 1 or more") }
            guard profileId.utf8.contains(where: { $0 != 0x20 && $0 != 0x09 }), profileId.utf8.count <= 200 else {
                throw APIError.badRequest("profileId must be 1 to 200 bytes, not blank")
            }
            guard let record = try await templates.record(spaceId: spaceId, id: id, version: body.version) else {
                throw APIError.notFound("no template \(id) in space \(spaceId)")
            }
            let request = MessageRequest(
                id: "test_" + UUID().uuidString.lowercased(), spaceId: spaceId, profileId: profileId,
                channel: record.channel, templateId: id, templateVersion: record.version, purpose: record.purpose,
                test: true, occurredAt: Date())
            try await publish(request)
            return try JSONBody.response(DataEnvelope(data: Accepted(messageId: request.id)), status: .accepted)
        }
        space.post("/messages") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let body = try await JSONBody.decode(SendBody.self, from: request)
            guard let profileId = body.profileId else { throw APIError.badRequest("profileId is required") }
            guard let templateId = body.templateId else { throw APIError.badRequest("templateId is required") }
            guard let channel = body.channel.flatMap(SubscriptionChannel.init(loose:)) else {
                throw APIError.badRequest("channel must be EMAIL, SMS or WHATSAPP")
            }
            let message = MessageRequest(
                id: body.id ?? "msg_" + UUID().uuidString.lowercased(), spaceId: spaceId, profileId: profileId,
                channel: channel, templateId: templateId, templateVersion: body.templateVersion,
                purpose: try Self.purpose(body.purpose), group: body.group, from: body.from,
                journeyId: body.journeyId, journeyStepId: body.journeyStepId, broadcastId: body.broadcastId,
                occurredAt: Date())
            do throws(InvalidMessage) { try MessagingConsumer.check(message) } catch {
                throw APIError.badRequest(error.reason)
            }
            // Refused here rather than skipped later: the caller is still listening. (A request that
            // arrives by topic still gets the `template_not_found` skip.)
            guard
                let template = try await templates.forSend(
                    spaceId: spaceId, id: templateId, version: body.templateVersion)
            else {
                throw APIError(
                    .unprocessableContent, code: "unknown_template",
                    message:
                        "no template \(templateId)\(body.templateVersion.map { " version \($0)" } ?? "") in space \(spaceId)"
                )
            }
            guard template.channel == channel else {
                throw APIError(
                    .unprocessableContent, code: "template_channel_mismatch",
                    message:
                        "template \(templateId) is a \(template.channel.rawValue) template, not \(channel.rawValue)")
            }
            try await publish(message)
            return try JSONBody.response(DataEnvelope(data: Accepted(messageId: message.id)), status: .accepted)
        }
        // Newest first; `next` is passed back as `cursor` for the following page.
        space.get("/messages") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let limit = try QueryParameters.int(request, "limit", default: 50, range: 1...500)
            let filter = try Self.listFilter(request)
            var after: MessageCursor?
            if let cursor = QueryParameters.string(request, "cursor") {
                guard let decoded = MessageCursor(cursor) else {
                    throw APIError.badRequest("cursor is not one this API gave")
                }
                after = decoded
            }
            let page = try await messages.list(spaceId: spaceId, filter: filter, after: after, limit: limit)
            let next =
                page.count == limit ? page.last.map { MessageCursor(requestedAt: $0.requestedAt, id: $0.id).text } : nil
            return try JSONBody.response(PageEnvelope(data: page, next: next))
        }
        space.get("/messages/:message_id") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let id = try context.parameters.require("message_id")
            guard let details = try await messages.details(spaceId: spaceId, id: id) else {
                throw APIError.notFound(
                    "no message \(id) in space \(spaceId) (a request just sent may take a moment to arrive)")
            }
            return try JSONBody.response(DataEnvelope(data: details))
        }
        ProviderRoutes(auth: auth, providers: providers, verifier: verifier, publicURL: publicURL).register(on: space)
        SendPolicyRoutes(auth: auth, policies: policies).register(on: space)
    }

    /// Acknowledged only once the broker has the request (acks=all).
    func publish(_ request: MessageRequest) async throws {
        let value = try WireEncoder.encode(request)
        do {
            try await producer.send(
                OutgoingRecord(
                    topic: Topic.messageRequests, key: request.profileId, value: value,
                    headers: [(Header.contract, MessageRequest.contract), (Header.spaceId, request.spaceId)]))
        } catch {
            throw APIError.unavailable("the message request could not be queued: \(error)")
        }
    }

    static func purpose(_ text: String?) throws -> MessagePurpose {
        guard let text else { return .marketing }
        guard let purpose = MessagePurpose(rawValue: text.lowercased()) else {
            throw APIError.badRequest("purpose must be marketing or transactional")
        }
        return purpose
    }

    static func strict(_ json: JSONValue) throws -> TemplateContent {
        do {
            return try TemplateContent.strict(json)
        } catch {
            throw TemplateRejection(problems: error.problems)
        }
    }

    static func checked(_ content: TemplateContent, channel: SubscriptionChannel, purpose: MessagePurpose) throws
        -> TemplateContent
    {
        do {
            return try content.validated(channel: channel, purpose: purpose)
        } catch {
            throw TemplateRejection(problems: error.problems)
        }
    }
}

/// 422 with every problem of a template, each with its field and position: `invalid_template` on
/// save, `template_error` when a preview cannot render.
struct TemplateRejection: Error, HTTPResponseError {
    var code = "invalid_template"
    var problems: [TemplateProblem]
    var status: HTTPResponse.Status { .unprocessableContent }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let message = problems.map(\.description).joined(separator: "; ")
        return try JSONBody.response(
            MessagingAPI.ProblemBody(code: code, message: message, problems: problems), status: status)
    }
}

extension MessagingAPI.Preview {
    init(templateId: String?, version: Int?, _ draft: (rendered: RenderedContent, saveProblems: [TemplateProblem])) {
        self.init(templateId: templateId, version: version, rendered: draft.rendered, saveProblems: draft.saveProblems)
    }
}

// MARK: previews

extension MessagingAPI {
    /// Links in a preview go to a page that changes nothing.
    var previewLinks: [String: String] {
        Dictionary(uniqueKeysWithValues: LiquidTemplates.linkVariables.map { ($0, "\(publicURL)/u/preview") })
    }

    /// A known profile (or a blank one), with the request's `traits` laid over its own.
    func previewProfile(spaceId: String, _ body: PreviewBody) async throws -> ProfileSnapshot {
        var profile = ProfileSnapshot(profileId: "preview")
        if let profileId = body.profileId {
            guard let found = try await replicas.profiles(spaceId: spaceId, ids: [profileId])[profileId] else {
                throw APIError.notFound("profile \(profileId) is not known to the messaging service")
            }
            profile = found
        }
        for (name, value) in body.traits ?? [:] { profile.traits[name] = value }
        return profile
    }

    static func render(
        _ content: TemplateContent, for profile: ProfileSnapshot, links: [String: String], cached: Bool
    ) throws -> RenderedContent {
        do throws(TemplateProblem) {
            return try content.render(MergeContext(profile: profile, links: links), cached: cached)
        } catch {
            throw TemplateRejection(code: "template_error", problems: [error])
        }
    }

    /// A draft rendered as it would be saved (an SMS's opt-out notice included), with what saving
    /// it would be refused for. A merge-tag error stops the rendering: the 422 then lists every
    /// problem of the draft, as a save would, the merge-tag ones with their position. Drafts are
    /// parsed without the shared cache, which keeps the texts being sent.
    static func previewDraft(
        _ json: JSONValue, channel: SubscriptionChannel, purpose: MessagePurpose, for profile: ProfileSnapshot,
        links: [String: String]
    ) throws -> (rendered: RenderedContent, saveProblems: [TemplateProblem]) {
        let draft = try strict(json)
        var content = draft
        var saveProblems: [TemplateProblem] = []
        do { content = try draft.validated(channel: channel, purpose: purpose, cached: false) } catch {
            saveProblems = error.problems
        }
        let tagErrors = draft.textFields.contains { field, value in
            (try? LiquidTemplates.check(value, field: field, cached: false)) == nil
        }
        guard !tagErrors else { throw TemplateRejection(code: "template_error", problems: saveProblems) }
        return (try render(content, for: profile, links: links, cached: false), saveProblems)
    }
}

extension MessagingAPI {
    static let messageStates = ["pending", "preparing", "sending", "sent", "failed", "unknown", "skipped"]

    static func listFilter(_ request: Request) throws -> MessageStore.ListFilter {
        var filter = MessageStore.ListFilter()
        filter.profileId = QueryParameters.string(request, "profileId")
        if let state = QueryParameters.string(request, "status") {
            guard messageStates.contains(state) else {
                throw APIError.badRequest("status must be one of \(messageStates.joined(separator: ", "))")
            }
            filter.state = state
        }
        if let text = QueryParameters.string(request, "channel") {
            guard let channel = SubscriptionChannel(loose: text) else {
                throw APIError.badRequest("channel must be EMAIL, SMS or WHATSAPP")
            }
            filter.channel = channel.rawValue
        }
        filter.templateId = QueryParameters.string(request, "templateId")
        filter.journeyId = QueryParameters.string(request, "journeyId")
        filter.broadcastId = QueryParameters.string(request, "broadcastId")
        filter.destinationId = QueryParameters.string(request, "destinationId")
        for (name, keyPath) in [("since", \MessageStore.ListFilter.since), ("until", \MessageStore.ListFilter.until)] {
            guard let text = QueryParameters.string(request, name) else { continue }
            guard let date = Timestamp.parse(text) else {
                throw APIError.badRequest("\(name) must be an ISO-8601 timestamp")
            }
            filter[keyPath: keyPath] = date
        }
        return filter
    }
}

/// The keyset of `GET /messages` pages: the last row's request time in whole microseconds (the
/// database's precision; a `Date` bound back as a parameter can land a microsecond early and skip rows
/// that share the time) and its id.
struct MessageCursor: Equatable {
    var micros: Int64
    var id: String

    init(requestedAt: Date, id: String) {
        self.micros = Int64((requestedAt.timeIntervalSince1970 * 1_000_000).rounded())
        self.id = id
    }

    init?(_ cursor: String) {
        guard let data = Data(base64URL: cursor), let plain = String(data: data, encoding: .utf8),
            let bar = plain.firstIndex(of: "|"), let micros = Int64(plain[..<bar])
        else { return nil }
        self.micros = micros
        self.id = String(plain[plain.index(after: bar)...])
    }

    var text: String { Data("\(micros)|\(id)".utf8).base64URLEncoded }
}
