import Contracts
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore

/// A response of the API under test, its body parsed as JSON (null when empty or not JSON).
public struct APIResponse: Sendable {
    public var status: HTTPResponse.Status
    public var headers: HTTPFields
    public var json: JSONValue

    /// The platform's error shape: `code` and `message` at the top level and under `error`.
    public var errorCode: String? {
        guard let code = json["code"]?.stringValue, json["error"]?["code"]?.stringValue == code,
            json["message"]?.stringValue == json["error"]?["message"]?.stringValue
        else { return nil }
        return code
    }

    public var message: String { json["message"]?.stringValue ?? "" }
    public var problems: [JSONValue] { json["problems"]?.arrayValue ?? [] }
    public var data: JSONValue { json["data"] ?? .null }
}

/// Calls the router in process (`app.test(.router)`), as a space's token holder would over HTTP.
public struct APIClient: Sendable {
    let client: any TestClientProtocol
    /// Sent as `Authorization` unless a call names another (or nil for none).
    public var authorization: String?

    public init(_ client: any TestClientProtocol, authorization: String?) {
        self.client = client
        self.authorization = authorization
    }

    public func callAsFunction(
        _ method: HTTPRequest.Method, _ path: String, _ body: JSONValue? = nil, authorization: String?? = .none
    ) async throws -> APIResponse {
        var headers: HTTPFields = [:]
        if let value = authorization ?? self.authorization { headers[.authorization] = value }
        var buffer: ByteBuffer?
        if let body {
            headers[.contentType] = "application/json"
            buffer = ByteBuffer(bytes: try JSONEncoder().encode(body))
        }
        let response = try await client.executeRequest(uri: path, method: method, headers: headers, body: buffer)
        let json = (try? JSONParser.parse(response.body.readableBytesView)) ?? .null
        return APIResponse(status: response.status, headers: response.headers, json: json)
    }
}
