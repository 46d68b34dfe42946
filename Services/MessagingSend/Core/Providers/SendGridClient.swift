import AsyncHTTPClient
import Contracts
import Foundation
import NIOCore
import NIOHTTP1

/// One email to send through SendGrid.
struct EmailSend: Sendable {
    var messageId: String
    var spaceId: String
    var to: String
    var fromAddress: String
    var fromName: String?
    var replyTo: String?
    var subject: String
    var html: String?
    var text: String?
    /// RFC 8058 one-click unsubscribe URL (marketing mail).
    var unsubscribeURL: String?
    var categories: [String]
}

/// SendGrid's v3 API: `POST /v3/mail/send` and the key check `GET /v3/scopes`.
struct SendGridClient: Sendable {
    let http: ProviderHTTP

    /// Custom args come back as top-level keys on every event-webhook event: correlation.
    static let messageIdArg = "engage_message_id"
    static let spaceIdArg = "engage_space_id"

    func send(_ email: EmailSend, settings: SendGridSettings, secrets: SendGridSecrets) async -> SendOutcome {
        var request = HTTPClientRequest(url: settings.baseUrl + "/v3/mail/send")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(secrets.apiKey)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: Self.body(email)))
        return await http.send(request) { answer in
            switch answer.status {
            case 200..<300:
                // SendGrid answers 202 with the message id in a header; webhook events carry it as a prefix of sg_message_id.
                return .accepted(providerMessageId: answer.headers.first(name: "X-Message-Id") ?? "", status: nil)
            case 429:
                let reset = answer.headers.first(name: "X-RateLimit-Reset").flatMap(Double.init)
                // Bounded: a reset time from the far future must not hold the send for ever (or overflow).
                let after = reset.map { Duration.seconds(min(3_600, max(0, $0 - Date().timeIntervalSince1970))) }
                return .retry(
                    after: after ?? ProviderHTTP.retryAfter(answer.headers), code: "sendgrid_429",
                    message: Self.errorMessage(answer.body))
            case 500...:
                return .retry(
                    after: ProviderHTTP.retryAfter(answer.headers), code: "sendgrid_\(answer.status)",
                    message: Self.errorMessage(answer.body))
            default:
                return .failed(code: "sendgrid_\(answer.status)", message: Self.errorMessage(answer.body))
            }
        }
    }

    /// The key works and may send mail: `GET /v3/scopes` lists `mail.send`.
    func verify(settings: SendGridSettings, secrets: SendGridSecrets) async -> Result<[String], VerificationFailure> {
        var request = HTTPClientRequest(url: settings.baseUrl + "/v3/scopes")
        request.headers.add(name: "Authorization", value: "Bearer \(secrets.apiKey)")
        guard let answer = try? await http.call(request) else {
            return .failure(VerificationFailure(message: "SendGrid at \(settings.baseUrl) did not answer"))
        }
        guard answer.status == 200 else {
            return .failure(
                VerificationFailure(
                    message: "SendGrid refused the API key (\(answer.status)): \(Self.errorMessage(answer.body))"))
        }
        guard case .object(let members)? = try? JSONParser.parse(answer.body),
            case .array(let items)? = members["scopes"]
        else {
            return .failure(VerificationFailure(message: "SendGrid's answer to GET /v3/scopes has no scopes"))
        }
        let scopes = items.compactMap { if case .string(let scope) = $0 { scope } else { nil } }
        guard scopes.contains("mail.send") else {
            return .failure(VerificationFailure(message: "the API key lacks the mail.send scope"))
        }
        return .success(scopes)
    }

    static func body(_ email: EmailSend) -> [UInt8] {
        var writer = JSONWriter(capacity: 1024 + (email.html?.utf8.count ?? 0) + (email.text?.utf8.count ?? 0))
        writer.object { members in
            members.member("personalizations", array: [email]) { item, email in
                item.member("to", array: [email.to]) { to, address in to.member("email", address) }
                item.member(
                    "custom_args", [messageIdArg: .string(email.messageId), spaceIdArg: .string(email.spaceId)])
            }
            members.member("from", email) { from, email in
                from.member("email", email.fromAddress)
                from.member("name", email.fromName)
            }
            if let replyTo = email.replyTo {
                members.member("reply_to", replyTo) { item, address in item.member("email", address) }
            }
            members.member("subject", email.subject)
            // SendGrid wants text/plain before text/html.
            let parts = [("text/plain", email.text), ("text/html", email.html)].compactMap { type, value in
                value.map { (type, $0) }
            }
            members.member("content", array: parts) { item, part in
                item.member("type", part.0)
                item.member("value", part.1)
            }
            if let url = email.unsubscribeURL {
                members.member(
                    "headers",
                    [
                        "List-Unsubscribe": .string("<\(url)>"),
                        "List-Unsubscribe-Post": .string("List-Unsubscribe=One-Click"),
                    ])
            }
            if !email.categories.isEmpty { members.member("categories", email.categories) }
        }
        return writer.bytes
    }

    /// The first `errors[].message` of SendGrid's error body, or the body itself.
    static func errorMessage(_ body: [UInt8]) -> String {
        if case .object(let members)? = try? JSONParser.parse(body), case .array(let errors)? = members["errors"],
            case .object(let first)? = errors.first, case .string(let message)? = first["message"]
        {
            return message
        }
        return String(decoding: body.prefix(500), as: UTF8.self)
    }
}

public struct VerificationFailure: Error, Sendable {
    public var message: String
}
