import Contracts
import Foundation
import Logging
import Persistence

/// The provider call a message will make.
enum ProviderRequest: Sendable {
    case email(EmailSend, SendGridSettings, SendGridSecrets)
    case twilio(TwilioSend, TwilioSettings, TwilioSecrets)

    var provider: String {
        switch self {
        case .email: ProviderStore.Provider.sendGrid.rawValue
        case .twilio: ProviderStore.Provider.twilio.rawValue
        }
    }
}

struct PreparedSend: Sendable {
    var row: MessageRow
    /// The template version used; nil for a destination action's own content.
    var version: Int?
    var sender: String
    var recipient: String
    var request: ProviderRequest
}

/// What to do with a claimed message.
enum Preparation: Sendable {
    /// Not sent, for a reason the recipient or the content holds; recorded and emitted.
    case skip(MessageRow, reason: String, detail: String)
    /// Not yet: the sender's rate is used up, the profile has not reached this service yet, or it
    /// is quiet hours for the recipient (`reason`).
    case later(MessageRow, Duration, reason: String = "")
    case send(PreparedSend)
}

/// Decides, for a batch of claimed messages, whether and how each is sent: template, recipient
/// address, consent (marketing goes only to `subscribed` contacts), provider, rendering, rate.
struct SendPreparer: Sendable {
    let templates: TemplateStore
    let replicas: ReplicaStore
    let providers: ProviderStore
    let links: UnsubscribeLinks
    let limiter: SenderRateLimiter
    let policies: SendPolicyStore
    let publicURL: String
    /// How long a message waits for its profile to reach the replica before it is skipped.
    let profileWait: TimeInterval

    func prepare(_ rows: [MessageRow], now: Date = Date()) async throws -> [Preparation] {
        var profiles: [String: ProfileSnapshot] = [:]
        for (spaceId, group) in Dictionary(grouping: rows, by: \.spaceId) {
            for (requested, profile) in try await replicas.profiles(
                spaceId: spaceId, ids: Array(Set(group.map(\.profileId))))
            {
                profiles["\(spaceId)|\(requested)"] = profile
            }
        }
        // Consent of every contact the batch would message, in one query per space.
        var contacts: [String: String] = [:]
        var keys: [String: [ReplicaStore.StateKey]] = [:]
        for row in rows {
            guard let profile = profiles["\(row.spaceId)|\(row.profileId)"],
                let contact = Self.contact(of: profile, on: row.channel)
            else { continue }
            contacts[row.id] = contact
            keys[row.spaceId, default: []].append(.init(channel: row.channel, contact: contact, group: ""))
            if let group = row.group {
                keys[row.spaceId, default: []].append(
                    .init(channel: row.channel, contact: contact, group: group.lowercased()))
            }
        }
        var statuses: [String: [ReplicaStore.StateKey: SubscriptionStatus]] = [:]
        for (spaceId, spaceKeys) in keys {
            statuses[spaceId] = try await replicas.statuses(spaceId: spaceId, keys: spaceKeys)
        }

        var result: [Preparation] = []
        for row in rows {
            result.append(
                try await prepare(
                    row, profile: profiles["\(row.spaceId)|\(row.profileId)"], contact: contacts[row.id],
                    statuses: statuses[row.spaceId] ?? [:], now: now))
        }
        return result
    }

    static func contact(of profile: ProfileSnapshot, on channel: SubscriptionChannel) -> String? {
        channel == .email ? profile.email : profile.phone
    }

    private func prepare(
        _ row: MessageRow, profile: ProfileSnapshot?, contact: String?,
        statuses: [ReplicaStore.StateKey: SubscriptionStatus],
        now: Date
    ) async throws -> Preparation {
        var row = row
        // Every event of a message names its recipient, a Skipped one too when the address is known.
        row.recipient = contact.map { row.channel == .whatsapp ? "whatsapp:\($0)" : $0 }
        let template: (version: Int?, channel: SubscriptionChannel, purpose: MessagePurpose, content: TemplateContent)
        if let content = row.content {
            template = (nil, row.channel, row.purpose, content)
        } else if let found = try await templates.forSend(
            spaceId: row.spaceId, id: row.templateId, version: row.templateVersion)
        {
            template = (found.version, found.channel, found.purpose, found.content)
        } else {
            return .skip(
                row, reason: "template_not_found",
                detail: "template \(row.templateId)\(row.templateVersion.map { " version \($0)" } ?? "") does not exist"
            )
        }
        guard template.channel == row.channel else {
            return .skip(
                row, reason: "template_channel_mismatch",
                detail: "template \(row.templateId) is a \(template.channel.rawValue) template")
        }
        guard let profile else {
            if now.timeIntervalSince(row.requestedAt) < profileWait { return .later(row, .seconds(1)) }
            return .skip(
                row, reason: "unknown_profile", detail: "profile \(row.profileId) is not known to the messaging service"
            )
        }
        guard let contact else {
            return .skip(
                row, reason: "no_address",
                detail:
                    "profile \(profile.profileId) has no \(row.channel == .email ? "email address" : "phone number")")
        }
        let marketing = row.purpose == .marketing || template.purpose == .marketing
        if marketing && !row.test {
            let status = statuses[.init(channel: row.channel, contact: contact, group: "")]
            guard status == .subscribed else {
                return .skip(
                    row, reason: "not_subscribed",
                    detail:
                        "\(contact) is \(status?.rawValue ?? "without a subscription status") on \(row.channel.rawValue); marketing goes only to subscribed contacts"
                )
            }
            if let group = row.group {
                let groupStatus = statuses[.init(channel: row.channel, contact: contact, group: group.lowercased())]
                guard groupStatus == .subscribed else {
                    return .skip(
                        row, reason: "not_subscribed_to_group",
                        detail: "\(contact) is \(groupStatus?.rawValue ?? "without a status") in group \(group)")
                }
            }
        }
        let spaceProviders = try await providers.providers(spaceId: row.spaceId)
        let target = UnsubscribeTarget(
            spaceId: row.spaceId, channel: row.channel, contact: contact, group: row.group, messageId: row.id,
            profileId: profile.profileId)
        let unsubscribeURL = links.unsubscribeURL(for: target)
        let context = MergeContext(
            profile: profile,
            links: [
                "unsubscribe_link": unsubscribeURL,
                "manage_preferences_link": UnsubscribeLinks.preferencesURL(unsubscribeURL: unsubscribeURL),
            ])
        let rendered: RenderedContent
        do {
            rendered = try template.content.render(context)
        } catch {
            return .skip(row, reason: "template_error", detail: error.description)
        }
        switch row.channel {
        case .email:
            guard let sendGrid = spaceProviders.sendGrid else {
                return .skip(
                    row, reason: "provider_not_configured", detail: "SendGrid is not set up for space \(row.spaceId)")
            }
            guard let from = row.requestedSender ?? rendered.fromAddress ?? sendGrid.settings.fromAddress else {
                return .skip(
                    row, reason: "template_error",
                    detail: "no from address: set one on the template or the SendGrid settings")
            }
            if let held = try await policyGate(row, profile: profile, marketing: marketing, now: now) { return held }
            let rate = sendGrid.settings.messagesPerSecond ?? SendGridSettings.defaultMessagesPerSecond
            if let wait = limiter.acquire(sender: "\(row.spaceId)|sendgrid|\(from)", perSecond: rate) {
                return .later(row, wait)
            }
            let email = EmailSend(
                messageId: row.id, spaceId: row.spaceId, to: contact, fromAddress: from,
                fromName: rendered.fromName ?? sendGrid.settings.fromName, replyTo: rendered.replyTo,
                subject: rendered.subject ?? "", html: rendered.html, text: rendered.text,
                unsubscribeURL: marketing ? unsubscribeURL : nil,
                categories: [row.test ? "engage-test" : "engage", marketing ? "marketing" : "transactional"])
            return .send(
                PreparedSend(
                    row: row, version: template.version, sender: from, recipient: contact,
                    request: .email(email, sendGrid.settings, sendGrid.secrets)))
        case .sms, .whatsapp:
            guard let twilio = spaceProviders.twilio else {
                return .skip(
                    row, reason: "provider_not_configured", detail: "Twilio is not set up for space \(row.spaceId)")
            }
            // The request's sender, else the template's, else the space's.
            guard let sender = row.requestedSender ?? rendered.from ?? twilio.settings.sender(for: row.channel) else {
                return .skip(
                    row, reason: "provider_not_configured", detail: "no Twilio sender for \(row.channel.rawValue)")
            }
            if rendered.from != nil, row.requestedSender == nil {
                do throws(InvalidMessage) { try ProviderRules.checkSender(sender, channel: row.channel) } catch {
                    return .skip(row, reason: "template_error", detail: "from: \(error.reason)")
                }
            }
            if let held = try await policyGate(row, profile: profile, marketing: marketing, now: now) { return held }
            let rate = twilio.settings.messagesPerSecond ?? TwilioSettings.defaultRate(sender: sender)
            if let wait = limiter.acquire(sender: "\(row.spaceId)|twilio|\(sender)", perSecond: rate) {
                return .later(row, wait)
            }
            let to = row.channel == .whatsapp ? "whatsapp:\(contact)" : contact
            let callback =
                "\(publicURL)/webhooks/twilio/\(row.spaceId)/status?message_id=\(FormEncoding.escape(row.id))"
            let message = TwilioSend(
                to: to, sender: sender, body: rendered.body, mediaUrls: rendered.mediaUrls ?? [],
                contentSid: rendered.contentSid, contentVariables: rendered.contentVariables, statusCallback: callback)
            return .send(
                PreparedSend(
                    row: row, version: template.version, sender: sender, recipient: to,
                    request: .twilio(message, twilio.settings, twilio.secrets)))
        }
    }

    /// The space's send policy for a marketing message that is ready to go: quiet hours delay it,
    /// the frequency cap skips it. Checked last, so only a message that would really be sent is
    /// counted against the cap. nil: go ahead.
    private func policyGate(_ row: MessageRow, profile: ProfileSnapshot, marketing: Bool, now: Date) async throws
        -> Preparation?
    {
        guard marketing, !row.test, let policy = try await policies.policy(spaceId: row.spaceId) else { return nil }
        if let quiet = policy.quietHours,
            let wait = quiet.remaining(at: now, in: quiet.timeZone(traits: profile.traits))
        {
            return .later(row, .milliseconds(Int64(max(wait, 1) * 1_000)), reason: "quiet_hours")
        }
        if let cap = policy.frequencyCap,
            !(try await policies.admit(
                spaceId: row.spaceId, profileId: profile.profileId, messageId: row.id, cap: cap, now: now))
        {
            return .skip(
                row, reason: "frequency_capped",
                detail:
                    "profile \(profile.profileId) already received \(cap.messages) marketing message\(cap.messages == 1 ? "" : "s") in the last \(cap.windowSeconds) s"
            )
        }
        return nil
    }
}
