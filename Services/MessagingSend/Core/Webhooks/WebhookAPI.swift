import Contracts
import Foundation
import Hummingbird
import Logging
import Metrics
import Persistence
import PostgresNIO
import ServiceKit

/// Callbacks from the providers and from people: SendGrid's Event Webhook, Twilio's status
/// callbacks and inbound messages, and unsubscribe links. Each is checked (signature, token)
/// before it changes anything; each provider event takes effect once (ids remembered), and its
/// effects (message state, message event, subscription command) commit together.
public struct WebhookAPI: Sendable {
    let db: PostgresClient
    let providers: ProviderStore
    let messages: MessageStore
    let replicas: ReplicaStore
    let links: UnsubscribeLinks
    let publicURL: String
    let logger: Logger
    let rejected = Counter(label: "engage_webhooks_rejected_total")

    public init(
        db: PostgresClient, providers: ProviderStore, messages: MessageStore, replicas: ReplicaStore,
        links: UnsubscribeLinks, publicURL: String, logger: Logger
    ) {
        self.db = db
        self.providers = providers
        self.messages = messages
        self.replicas = replicas
        self.links = links
        self.publicURL = publicURL
        self.logger = logger
    }

    static let maxBody = 5 << 20

    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.post("/webhooks/sendgrid/:space_id") { request, context in
            let spaceId = try context.parameters.require("space_id")
            let body = try await Self.body(request)
            return try await sendGrid(spaceId: spaceId, request: request, body: body)
        }
        router.post("/webhooks/twilio/:space_id/status") { request, context in
            let spaceId = try context.parameters.require("space_id")
            let (form, settings) = try await twilioForm(spaceId: spaceId, request: request)
            try await twilioStatus(spaceId: spaceId, form: form, request: request, settings: settings)
            return Response(status: .noContent)
        }
        router.post("/webhooks/twilio/:space_id/inbound") { request, context in
            let spaceId = try context.parameters.require("space_id")
            let (form, settings) = try await twilioForm(spaceId: spaceId, request: request)
            let reply = try await twilioInbound(spaceId: spaceId, form: form, settings: settings)
            let twiml =
                reply.map { "<Response><Message>\(LiquidTemplates.escapeHTML($0))</Message></Response>" }
                ?? "<Response></Response>"
            return Response(
                status: .ok, headers: [.contentType: "text/xml; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + twiml)))
        }
        router.get("/u/:token") { request, context in
            guard let target = links.target(from: try context.parameters.require("token")) else {
                return UnsubscribePage.invalid()
            }
            return UnsubscribePage.confirm(target, manage: request.uri.queryParameters["manage"] != nil)
        }
        router.post("/u/:token") { request, context in
            guard let target = links.target(from: try context.parameters.require("token")) else {
                return UnsubscribePage.invalid()
            }
            let body = String(decoding: try await Self.body(request, max: 65_536), as: UTF8.self)
            // One-click (RFC 8058) posts `List-Unsubscribe=One-Click`; the page's form posts `scope`.
            let scope = FormEncoding.decode(body)?.first(where: { $0.0 == "scope" })?.1
            let group = scope == "all" ? nil : target.group
            try await unsubscribe(target, group: group)
            return UnsubscribePage.done(target, group: group)
        }
    }

    static func body(_ request: Request, max: Int = maxBody) async throws -> [UInt8] {
        do {
            return Array(buffer: try await request.body.collect(upTo: max))
        } catch {
            throw APIError(
                .contentTooLarge, code: "payload_too_large", message: "request body is larger than \(max) bytes")
        }
    }

    private func forbidden(_ message: String) -> APIError {
        rejected.increment()
        logger.warning("webhook rejected", metadata: ["reason": "\(message)"])
        return APIError(.forbidden, code: "invalid_signature", message: message)
    }

    // MARK: SendGrid

    func sendGrid(spaceId: String, request: Request, body: [UInt8]) async throws -> Response {
        guard let sendGrid = try await providers.providers(spaceId: spaceId).sendGrid else {
            throw APIError.notFound("SendGrid is not set up for space \(spaceId)")
        }
        do {
            try SendGridEventAuthentication.check(
                sendGrid.settings, signature: request.headers[.init("X-Twilio-Email-Event-Webhook-Signature")!],
                timestamp: request.headers[.init("X-Twilio-Email-Event-Webhook-Timestamp")!], body: body)
        } catch {
            throw forbidden("SendGrid event webhook: \(error)")
        }
        let events: [SendGridEvent]
        do { events = try SendGridEvent.parse(body) } catch { throw APIError.badRequest(error.reason) }
        let groups = sendGrid.settings.asmGroups ?? [:]
        let now = Date()
        try await db.transaction(logger: logger) { [self] connection in
            // One transition per message: an UPDATE joined to several rows of the same message applies
            // one of them at random, so a batch's `processed` could win over its `delivered`. The
            // newest event (the later one in the batch on a tie) is the message's status.
            var transitions: [String: (at: Date, transition: Transition)] = [:]
            var outbox: [OutboxMessage] = []
            for event in events where event.spaceId == nil || event.spaceId == spaceId {
                guard
                    try await messages.firstDelivery(
                        spaceId: spaceId, eventId: "sendgrid:\(event.eventId)", on: connection)
                else { continue }
                let row = try await event.messageId.asyncFlatMap {
                    try await messages.message(spaceId: spaceId, id: $0)
                }
                if let row, let name = MessageEventName.sendGrid(event: event.event, machineOpen: event.machineOpen) {
                    // A message whose call outcome was unknown is reconciled: the provider has it.
                    let transition = Transition(
                        spaceId: spaceId, id: row.id, from: ["sending", "unknown", "sent"], to: "sent",
                        providerMessageId: row.providerMessageId == nil
                            ? (event.sgMessageId.map(Self.sendGridMessageId) ?? "") : "",
                        deliveryStatus: event.event)
                    if (transitions[row.id]?.at).map({ $0 <= event.timestamp }) ?? true {
                        transitions[row.id] = (event.timestamp, transition)
                    }
                    var out = row.event(
                        name, id: event.event == "processed" ? "processed" : "sendgrid:\(event.eventId)",
                        at: event.timestamp, now: now)
                    out.contact = event.email ?? row.recipient
                    out.url = event.url
                    out.reason = event.reason
                    out.errorCode = event.status
                    out.group = event.group(groups: groups)
                    outbox.append(try MessageStore.outbox(out, traceParent: row.traceParent))
                }
                if let email = event.email, let command = event.subscriptionCommand(groups: groups),
                    let contact = try? ContactNormalizer.email(email)
                {
                    outbox.append(
                        try Self.command(
                            spaceId: spaceId, source: .provider, origin: "sendgrid:\(event.event)",
                            commandId: "sendgrid:\(event.eventId)", channel: .email, contact: contact,
                            group: command.group, status: command.status, at: event.consentTime))
                }
            }
            _ = try await messages.apply(transitions.values.map(\.transition), on: connection)
            try await Outbox.enqueue(outbox, on: connection, logger: logger)
        }
        return Response(status: .ok)
    }

    /// `sg_message_id` is the send's X-Message-Id, a dot, and SendGrid's own suffix.
    static func sendGridMessageId(_ sgMessageId: String) -> String {
        String(sgMessageId.split(separator: ".", maxSplits: 1).first ?? Substring(sgMessageId))
    }

    // MARK: Twilio

    /// The form parameters of a Twilio callback, after its signature is checked.
    func twilioForm(spaceId: String, request: Request) async throws -> ([(String, String)], TwilioSettings) {
        guard let twilio = try await providers.providers(spaceId: spaceId).twilio else {
            throw APIError.notFound("Twilio is not set up for space \(spaceId)")
        }
        guard let authToken = twilio.secrets.authToken else {
            throw forbidden(
                "Twilio callbacks need the account's auth token in the Twilio settings to check X-Twilio-Signature")
        }
        let text = String(decoding: try await Self.body(request, max: 1 << 20), as: UTF8.self)
        guard let form = FormEncoding.decode(text) else {
            throw APIError.badRequest("the body is not application/x-www-form-urlencoded")
        }
        let url = publicURL + request.uri.description
        do {
            try SignatureChecks.checkTwilio(
                authToken: authToken, signature: request.headers[.init("X-Twilio-Signature")!], url: url,
                parameters: form)
        } catch {
            throw forbidden("Twilio callback for \(url): \(error)")
        }
        guard form.first(where: { $0.0 == "AccountSid" })?.1 == twilio.settings.accountSid else {
            throw forbidden("the callback's AccountSid is not this space's Twilio account")
        }
        return (form, twilio.settings)
    }

    func twilioStatus(spaceId: String, form: [(String, String)], request: Request, settings: TwilioSettings)
        async throws
    {
        @Sendable func value(_ name: String) -> String? { form.first(where: { $0.0 == name })?.1 }
        guard let sid = value("MessageSid") ?? value("SmsSid"),
            let status = (value("MessageStatus") ?? value("SmsStatus"))?.lowercased()
        else {
            throw APIError.badRequest("MessageSid and MessageStatus are required")
        }
        let messageId = request.uri.queryParameters["message_id"].map { String($0) }
        let row: MessageRow?
        if let messageId {
            row = try await messages.message(spaceId: spaceId, id: messageId)
        } else {
            row = try await messages.message(spaceId: spaceId, providerMessageId: sid)
        }
        guard let row else {
            logger.info("status callback for a message this service does not know", metadata: ["message_sid": "\(sid)"])
            return
        }
        let now = Date()
        try await db.transaction(logger: logger) { [self] connection in
            guard try await messages.firstDelivery(spaceId: spaceId, eventId: "twilio:\(sid):\(status)", on: connection)
            else { return }
            _ = try await messages.apply(
                [
                    Transition(
                        spaceId: spaceId, id: row.id, from: ["sending", "unknown", "sent"], to: "sent",
                        providerMessageId: row.providerMessageId == nil ? sid : "", deliveryStatus: status,
                        errorCode: value("ErrorCode") ?? "")
                ], on: connection)
            // Statuses Twilio does not document, and inbound ones on an outbound message, name no event.
            guard let known = TwilioMessageStatus(loose: status),
                let step = MessageEventName.twilio(row.channel, status: known)
            else {
                logger.info(
                    "status callback names no event",
                    metadata: ["message_sid": "\(sid)", "status": "\(status)"])
                return
            }
            var event = row.event(step.name, id: step.idSuffix, at: now, now: now)
            event.providerMessageId = sid
            event.errorCode = value("ErrorCode")
            if known == .canceled { event.reason = known.rawValue }
            let first = try await messages.firstOfTheirIds([event], on: connection)
            try await Outbox.enqueue(
                try first.map { try MessageStore.outbox($0, traceParent: row.traceParent) }, on: connection,
                logger: logger)
        }
    }

    /// Inbound SMS/WhatsApp: opt-out and opt-in keywords become subscription commands; HELP gets
    /// the configured help text back. Returns the reply, if any.
    func twilioInbound(spaceId: String, form: [(String, String)], settings: TwilioSettings) async throws -> String? {
        @Sendable func value(_ name: String) -> String? { form.first(where: { $0.0 == name })?.1 }
        guard let sid = value("MessageSid") ?? value("SmsSid"), let from = value("From") else {
            throw APIError.badRequest("MessageSid and From are required")
        }
        let channel: SubscriptionChannel = from.hasPrefix("whatsapp:") ? .whatsapp : .sms
        let rawPhone = channel == .whatsapp ? String(from.dropFirst("whatsapp:".count)) : from
        guard let phone = try? ContactNormalizer.phone(rawPhone) else {
            throw APIError.badRequest("From \(from) is not a phone number")
        }
        let keyword = ReplyKeyword.of(body: value("Body"), optOutType: value("OptOutType"))
        let profileId = try await replicas.profileId(spaceId: spaceId, phone: phone)
        let now = Date()
        try await db.transaction(logger: logger) { [self] connection in
            guard try await messages.firstDelivery(spaceId: spaceId, eventId: "twilio-in:\(sid)", on: connection) else {
                return
            }
            var outbox: [OutboxMessage] = []
            var event = MessageEvent(
                id: "inbound:\(sid)", spaceId: spaceId, event: MessageEventName.received(channel),
                channel: channel, messageId: nil, profileId: profileId, contact: phone, occurredAt: now, recordedAt: now
            )
            event.provider = ProviderStore.Provider.twilio.rawValue
            event.providerMessageId = sid
            event.body = value("Body")
            outbox.append(try MessageStore.outbox(event))
            if keyword == .optOut || keyword == .optIn {
                outbox.append(
                    try Self.command(
                        spaceId: spaceId, source: .inboundReply, origin: "twilio-inbound:\(sid)",
                        commandId: "twilio:\(sid)",
                        channel: channel, contact: phone, group: nil,
                        status: keyword == .optOut ? .unsubscribed : .subscribed, at: now))
            }
            try await Outbox.enqueue(outbox, on: connection, logger: logger)
        }
        logger.info(
            "inbound message", metadata: ["message_sid": "\(sid)", "keyword": "\(keyword.map { "\($0)" } ?? "none")"])
        return keyword == .help ? settings.helpText : nil
    }

    // MARK: Unsubscribe links

    func unsubscribe(_ target: UnsubscribeTarget, group: String?) async throws {
        let now = Date()
        let row = try await target.messageId.asyncFlatMap {
            try await messages.message(spaceId: target.spaceId, id: $0)
        }
        try await db.transaction(logger: logger) { [self] connection in
            var outbox = [
                try Self.command(
                    spaceId: target.spaceId, source: .unsubscribeLink, origin: target.messageId.map { "message:\($0)" },
                    commandId: "link:" + UUID().uuidString.lowercased(), channel: target.channel,
                    contact: target.contact,
                    group: group, status: .unsubscribed, at: now)
            ]
            if var row, target.channel == .email {
                row.recipient = target.contact
                var event = row.event(
                    MessageEventName.emailUnsubscribed(group: group != nil),
                    id: "link-unsubscribe:\(group ?? "*")", at: now, now: now)
                event.group = group
                outbox.append(try MessageStore.outbox(event, traceParent: row.traceParent))
            }
            try await Outbox.enqueue(outbox, on: connection, logger: logger)
        }
        logger.info(
            "unsubscribed by link",
            metadata: ["space_id": "\(target.spaceId)", "channel": "\(target.channel.rawValue)"])
    }

    static func command(
        spaceId: String, source: SubscriptionSource, origin: String?, commandId: String, channel: SubscriptionChannel,
        contact: String, group: String?, status: SubscriptionStatus, at: Date
    ) throws -> OutboxMessage {
        let batch = SubscriptionCommandBatch(
            id: "batch:\(commandId)", spaceId: spaceId, source: source, origin: origin,
            commands: [
                SubscriptionCommand(
                    id: commandId, channel: channel, contact: contact, group: group, status: status, occurredAt: at)
            ])
        return try OutboxMessage(
            topic: Topic.subscriptionCommands, key: "\(spaceId)|\(channel.rawValue)|\(contact)", event: batch,
            contract: SubscriptionCommandBatch.contract, headers: [Header.spaceId: spaceId])
    }
}

extension Optional {
    func asyncFlatMap<U>(_ transform: (Wrapped) async throws -> U?) async rethrows -> U? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
