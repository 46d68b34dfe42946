import Foundation
import Hummingbird

/// Channels: the space's SendGrid and Twilio accounts (verify, save, remove), the webhook URLs to
/// paste into each provider (seed 001's onboarding), and the send policy (frequency cap, quiet
/// hours). Secrets go to messaging-send and never come back; an empty secret field keeps the
/// stored one, as the API does.
struct ChannelsScreen: Sendable {
    let console: Console

    func register(on router: Router<some RequestContext>) {
        router.get("/channels") { request, _ in
            let session = try console.session(request)
            return try await channelsPage(request, session)
        }
        for provider in ChannelProvider.allCases {
            router.post("/channels/\(provider.rawValue)") { request, _ in
                let session = try console.session(request)
                let form = try await console.form(request, session)
                let body = provider.body(form)
                let client = console.client(session)
                let path = "/messaging/providers/\(provider.rawValue)"
                switch form["action"] {
                case "verify":
                    let answer = try await client.send(.POST, .messaging, path + "/verify", json: body)
                    guard answer.ok else {
                        return try await channelsPage(
                            request, session, problems: answer.problems, typed: (provider, form),
                            status: .unprocessableContent)
                    }
                    return try await channelsPage(
                        request, session, verified: provider, typed: (provider, form))
                case "remove":
                    let answer = try await client.send(.DELETE, .messaging, path)
                    guard answer.ok else {
                        return try await channelsPage(request, session, problems: answer.problems, status: .notFound)
                    }
                    return console.redirect("/channels", notice: "\(provider.label) removed.")
                default:
                    let answer = try await client.send(.PUT, .messaging, path, json: body)
                    guard answer.ok else {
                        return try await channelsPage(
                            request, session, problems: answer.problems, typed: (provider, form),
                            status: .unprocessableContent)
                    }
                    return console.redirect("/channels", notice: "\(provider.label) verified and saved.")
                }
            }
        }
        router.post("/channels/send-policy") { request, _ in
            let session = try console.session(request)
            let form = try await console.form(request, session)
            var problems: [String] = []
            var policy: [String: Any] = ["frequencyCap": NSNull(), "quietHours": NSNull()]
            if let messages = form["capMessages"] {
                if let count = Int(messages), let days = form.int("capDays") {
                    policy["frequencyCap"] = ["messages": count, "windowSeconds": days * 86400]
                } else {
                    problems.append("The frequency cap needs a number of messages and a number of days.")
                }
            }
            if let start = form["quietStart"], let end = form["quietEnd"] {
                var quiet: [String: Any] = ["start": start, "end": end]
                if let trait = form["timeZoneTrait"] { quiet["timeZoneTrait"] = trait }
                if let zone = form["defaultTimeZone"] { quiet["defaultTimeZone"] = zone }
                policy["quietHours"] = quiet
            } else if form["quietStart"] != nil || form["quietEnd"] != nil {
                problems.append("Quiet hours need both a start and an end time.")
            }
            if problems.isEmpty {
                let answer = try await console.client(session).send(
                    .PUT, .messaging, "/messaging/send-policy", json: policy)
                if answer.ok { return console.redirect("/channels", notice: "Send policy saved.") }
                problems = answer.problems
            }
            return try await channelsPage(request, session, problems: problems, status: .unprocessableContent)
        }
    }

    private func channelsPage(
        _ request: Request, _ session: ConsoleSession, problems: [String] = [], verified: ChannelProvider? = nil,
        typed: (ChannelProvider, FormFields)? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let client = console.client(session)
        async let sendGrid = client.get(.messaging, "/messaging/providers/sendgrid")
        async let twilio = client.get(.messaging, "/messaging/providers/twilio")
        async let policy = client.get(.messaging, "/messaging/send-policy")
        var values: [String: Any] = [:]
        for (provider, answer) in [(ChannelProvider.sendgrid, try await sendGrid), (.twilio, try await twilio)] {
            var view = provider.view(configured: answer.ok ? answer.dataObject : nil)
            if let (typedProvider, form) = typed, typedProvider == provider {
                // After a successful Verify the typed secrets stay in the form, so that Save sends
                // what was verified; a refused secret is cleared.
                for field in provider.fields where !field.secret || verified == provider {
                    view[field.name] = field.flag ? form.isChecked(field.name) as Any : form.raw(field.name)
                }
            }
            if verified == provider {
                view["verifiedNotice"] = "\(provider.label) accepted these settings. Save to use them."
            }
            values[provider.rawValue] = view
        }
        let current = try await policy.dataObject
        let cap = current["frequencyCap"] as? [String: Any]
        let quiet = current["quietHours"] as? [String: Any]
        values["policy"] = [
            "capMessages": cap.map { "\($0["messages"] ?? "")" } ?? "",
            "capDays": cap.flatMap { ($0["windowSeconds"] as? Int).map { "\($0 / 86400)" } } ?? "7",
            "quietStart": quiet?["start"] as? String ?? "", "quietEnd": quiet?["end"] as? String ?? "",
            "timeZoneTrait": quiet?["timeZoneTrait"] as? String ?? "timezone",
            "defaultTimeZone": quiet?["defaultTimeZone"] as? String ?? "UTC",
        ]
        return console.page(
            "channels", title: "Channels", section: .channels, session: session, request: request, values: values,
            status: status, problems: problems)
    }
}

/// The two providers' settings as form fields (names as in messaging-send's API).
enum ChannelProvider: String, CaseIterable, Sendable {
    case sendgrid, twilio

    struct Field {
        var name: String
        var secret = false
        var number = false
        var flag = false
        /// `id=name` lines in the form, an object in the API (SendGrid's `asmGroups`).
        var pairs = false
    }

    var label: String { self == .sendgrid ? "SendGrid" : "Twilio" }

    var fields: [Field] {
        switch self {
        case .sendgrid:
            [
                .init(name: "apiKey", secret: true), .init(name: "subuser"), .init(name: "fromAddress"),
                .init(name: "fromName"), .init(name: "baseUrl"), .init(name: "eventWebhookPublicKey"),
                .init(name: "allowUnsignedEvents", flag: true), .init(name: "messagesPerSecond", number: true),
                .init(name: "asmGroups", pairs: true),
            ]
        case .twilio:
            [
                .init(name: "accountSid"), .init(name: "apiKeySid"), .init(name: "apiKeySecret", secret: true),
                .init(name: "authToken", secret: true), .init(name: "messagingServiceSid"),
                .init(name: "fromNumber"), .init(name: "whatsappFrom"), .init(name: "baseUrl"),
                .init(name: "helpText"), .init(name: "messagesPerSecond", number: true),
            ]
        }
    }

    /// The API body from the form: blank fields are left out (a blank secret keeps the stored one).
    func body(_ form: FormFields) -> [String: Any] {
        var body: [String: Any] = [:]
        for field in fields {
            if field.flag {
                body[field.name] = form.isChecked(field.name)
            } else if field.pairs {
                var pairs: [String: String] = [:]
                for line in form.raw(field.name).split(whereSeparator: \.isNewline) {
                    let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    if parts.count == 2, !parts[0].isEmpty { pairs[parts[0]] = parts[1] }
                }
                if !pairs.isEmpty { body[field.name] = pairs }
            } else if let value = form[field.name] {
                body[field.name] = field.number ? (Double(value) ?? value) as Any : value
            }
        }
        return body
    }

    /// The template's values: the saved settings (never secrets: the API does not return them),
    /// and the webhook URLs to paste, which the API builds from its public URL.
    func view(configured: [String: Any]?) -> [String: Any] {
        var view: [String: Any] = ["configured": configured != nil]
        let settings = configured?["settings"] as? [String: Any] ?? [:]
        for field in fields where !field.secret {
            if field.flag {
                view[field.name] = (settings[field.name] as? Bool) == true
            } else if field.pairs {
                let pairs = settings[field.name] as? [String: Any] ?? [:]
                view[field.name] = pairs.keys.sorted().map { "\($0)=\(pairs[$0] ?? "")" }.joined(separator: "\n")
            } else {
                view[field.name] = settings[field.name].map { "\($0)" } ?? ""
            }
        }
        for key in ["eventWebhookUrl", "statusCallbackUrl", "inboundUrl"] {
            if let url = configured?[key] as? String { view[key] = url }
        }
        view["authTokenMissing"] =
            self == .twilio && configured != nil && (configured?["authTokenConfigured"] as? Bool) != true
        return view
    }
}
