import AsyncHTTPClient
import Contracts
import Foundation
import NIOCore
import NIOHTTP1

/// One SMS or WhatsApp message to send through Twilio.
struct TwilioSend: Sendable {
    var to: String
    /// `From` (a number, short code or `whatsapp:+...`) or a Messaging Service SID (`MG...`).
    var sender: String
    var body: String?
    var mediaUrls: [String]
    var contentSid: String?
    var contentVariables: [String: String]?
    var statusCallback: String
}

/// Twilio's Messages API with an API key (Basic auth with the key SID and secret).
struct TwilioClient: Sendable {
    let http: ProviderHTTP

    func send(_ message: TwilioSend, settings: TwilioSettings, secrets: TwilioSecrets) async -> SendOutcome {
        var form: [(String, String)] = [("To", message.to)]
        form.append(message.sender.hasPrefix("MG") ? ("MessagingServiceSid", message.sender) : ("From", message.sender))
        if let body = message.body { form.append(("Body", body)) }
        for url in message.mediaUrls { form.append(("MediaUrl", url)) }
        if let sid = message.contentSid { form.append(("ContentSid", sid)) }
        if let variables = message.contentVariables {
            form.append(("ContentVariables", JSONValue.object(variables.mapValues(JSONValue.string)).json))
        }
        form.append(("StatusCallback", message.statusCallback))
        var request = HTTPClientRequest(
            url: "\(settings.baseUrl)/2010-04-01/Accounts/\(settings.accountSid)/Messages.json")
        request.method = .POST
        request.headers.add(name: "Authorization", value: Self.basic(settings.apiKeySid, secrets.apiKeySecret))
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: FormEncoding.encode(form)))
        return await http.send(request) { answer in
            let json = try? JSONParser.parse(answer.body)
            switch answer.status {
            case 200..<300:
                guard case .object(let members)? = json, case .string(let sid)? = members["sid"] else {
                    return .unknown("Twilio answered \(answer.status) without a message sid")
                }
                var status: String?
                if case .string(let value)? = members["status"] { status = value }
                return .accepted(providerMessageId: sid, status: status)
            case 429:
                return .retry(
                    after: ProviderHTTP.retryAfter(answer.headers), code: Self.code(json, status: 429),
                    message: Self.message(json, answer.body))
            case 500...:
                return .retry(
                    after: ProviderHTTP.retryAfter(answer.headers), code: Self.code(json, status: answer.status),
                    message: Self.message(json, answer.body))
            default:
                return .failed(code: Self.code(json, status: answer.status), message: Self.message(json, answer.body))
            }
        }
    }

    /// `GET /2010-04-01/Accounts/{AccountSid}.json` with the key: 200 and an active account.
    func verify(settings: TwilioSettings, secrets: TwilioSecrets) async -> Result<String, VerificationFailure> {
        var request = HTTPClientRequest(url: "\(settings.baseUrl)/2010-04-01/Accounts/\(settings.accountSid).json")
        request.headers.add(name: "Authorization", value: Self.basic(settings.apiKeySid, secrets.apiKeySecret))
        guard let answer = try? await http.call(request) else {
            return .failure(VerificationFailure(message: "Twilio at \(settings.baseUrl) did not answer"))
        }
        let json = try? JSONParser.parse(answer.body)
        guard answer.status == 200, case .object(let members)? = json else {
            return .failure(
                VerificationFailure(
                    message: "Twilio refused the API key (\(answer.status)): \(Self.message(json, answer.body))"))
        }
        if case .string(let status)? = members["status"], status != "active" {
            return .failure(VerificationFailure(message: "the Twilio account is \(status)"))
        }
        if case .string(let name)? = members["friendly_name"] { return .success(name) }
        return .success(settings.accountSid)
    }

    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    /// Twilio's numeric error code (`21211`), or the HTTP status when the body has none.
    static func code(_ json: JSONValue?, status: Int) -> String {
        if case .object(let members)? = json, case .number(let code)? = members["code"] { return String(Int(code)) }
        return "http_\(status)"
    }

    static func message(_ json: JSONValue?, _ body: [UInt8]) -> String {
        if case .object(let members)? = json, case .string(let message)? = members["message"] { return message }
        return String(decoding: body.prefix(500), as: UTF8.self)
    }
}

/// `application/x-www-form-urlencoded`, both ways.
enum FormEncoding {
    private static let unreserved: CharacterSet = {
        var set = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        set.insert(charactersIn: "-._*")
        return set
    }()

    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// Pairs in order; `+` is a space. Nil when the text is not valid form encoding.
    static func decode(_ text: String) -> [(String, String)]? {
        var pairs: [(String, String)] = []
        for part in text.split(separator: "&", omittingEmptySubsequences: true) {
            let halves = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = String(halves[0]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding,
                let value = (halves.count > 1 ? String(halves[1]) : "").replacingOccurrences(of: "+", with: " ")
                    .removingPercentEncoding
            else { return nil }
            pairs.append((name, value))
        }
        return pairs
    }
}
