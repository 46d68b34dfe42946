import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

/// The six services whose public HTTP APIs a client (the console, the `engage` CLI) calls.
public enum EngageService: String, CaseIterable, Sendable {
    case profiles
    case subscriptions
    case audiences
    case journeys
    case messaging = "messaging-send"
    case eventsSource = "events-source"

    /// Where the service listens on a developer's machine (`deploy/dev/up.sh`).
    public var defaultPort: Int {
        switch self {
        case .profiles: 8081
        case .subscriptions: 8082
        case .audiences: 8083
        case .journeys: 8084
        case .messaging: 8085
        case .eventsSource: 8086
        }
    }

    public var defaultURL: URL { URL(string: "http://127.0.0.1:\(defaultPort)")! }
}

/// The six services' public APIs as their clients call them: with a space's access token (or the
/// admin token), exactly as any other API client would. A client adds no privileges of its own.
public struct EngageAPI: Sendable {
    let client: HTTPClient
    let bases: [EngageService: URL]
    let timeout: TimeAmount

    public init(client: HTTPClient, bases: [EngageService: URL], timeout: TimeAmount = .seconds(15)) {
        self.client = client
        self.bases = bases
        self.timeout = timeout
    }

    /// One call. 401 throws `EngageFailure.unauthorized` (the token is wrong, revoked or gone);
    /// a service that cannot be reached throws `.unreachable`; every other answer is returned.
    public func call(
        _ service: EngageService, _ method: EngageMethod, _ path: String, query: [(String, String)] = [],
        token: String?, scheme: EngageAuthScheme = .basic, body: EngageBody? = nil, timeout: TimeAmount? = nil
    ) async throws -> EngageResponse {
        var url = bases[service]!.absoluteString
        while url.hasSuffix("/") { url.removeLast() }
        url += path
        if !query.isEmpty {
            var components = URLComponents()
            components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) }
            // URLComponents leaves "+" alone; the services read it as a space.
            url += "?" + (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        }
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method.rawValue)
        if let token {
            switch scheme {
            case .basic:
                request.headers.add(
                    name: "Authorization", value: "Basic " + Data("\(token):".utf8).base64EncodedString())
            case .bearer:
                request.headers.add(name: "Authorization", value: "Bearer " + token)
            }
        }
        request.headers.add(name: "Accept", value: "application/json")
        switch body {
        case .json(let data):
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: data))
        case .csv(let buffer):
            request.headers.add(name: "Content-Type", value: "text/csv")
            request.body = .bytes(buffer)
        case nil:
            break
        }
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await client.execute(request, timeout: timeout ?? self.timeout)
            bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
        } catch {
            throw EngageFailure.unreachable(service, String(describing: error))
        }
        if response.status == .unauthorized, token != nil { throw EngageFailure.unauthorized(service) }
        return EngageResponse(
            status: Int(response.status.code), body: Data(buffer: bytes),
            contentType: response.headers.first(name: "Content-Type"))
    }

    /// A path segment with everything but unreserved characters percent-encoded
    /// (`email:ada@example.com` keeps its meaning, `a/b` stays one segment).
    public static func segment(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:@")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

/// How a token is presented. Space tokens go as the Basic-auth username, the one form every space
/// API takes (the Profile API keeps Segment's Basic-only authentication; the others take Bearer as
/// well); the admin API takes a Bearer token.
public enum EngageAuthScheme: Sendable {
    case basic
    case bearer
}

// Spelled as on the wire, as NIO's HTTPMethod does.
// swift-format-ignore: AlwaysUseLowerCamelCase
public enum EngageMethod: String, Sendable {
    case GET, POST, PUT, PATCH, DELETE
}

public enum EngageBody: Sendable {
    case json(Data)
    case csv(ByteBuffer)

    /// A JSON body from a value built of dictionaries, arrays, strings, numbers and booleans.
    public static func object(_ value: Any) throws -> EngageBody {
        .json(try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]))
    }
}

public struct EngageResponse: Sendable {
    public var status: Int
    public var body: Data
    public var contentType: String?

    public var ok: Bool { (200..<300).contains(status) }

    /// The body as dictionaries, arrays and scalars, or nil when it is not JSON.
    public var json: Any? { try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }

    /// `data` of a `{"data": ...}` answer.
    public var data: Any? { (json as? [String: Any])?["data"] }
    public var dataObject: [String: Any] { data as? [String: Any] ?? [:] }
    public var dataList: [[String: Any]] { data as? [[String: Any]] ?? [] }

    /// What the service said went wrong, for a person: its message, then each problem it listed.
    public var problems: [String] {
        guard let object = json as? [String: Any] else {
            return ["the service answered \(status)"]
        }
        var lines: [String] = []
        if let message = object["message"] as? String { lines.append(message) }
        if let problems = object["problems"] as? [String] { lines += problems.filter { $0 != lines.first } }
        return lines.isEmpty ? ["the service answered \(status)"] : lines
    }
}

public enum EngageFailure: Error, CustomStringConvertible {
    /// The token does not open the space (wrong, revoked, or the space is gone).
    case unauthorized(EngageService)
    case unreachable(EngageService, String)

    public var description: String {
        switch self {
        case .unauthorized(let service): "\(service.rawValue) refused the access token"
        case .unreachable(let service, let error): "\(service.rawValue) is not answering (\(error))"
        }
    }
}
