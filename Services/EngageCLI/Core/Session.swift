import AsyncHTTPClient
import Contracts
import EngageClient
import Foundation

/// One command's connection to the services: the resolved settings and the API client.
public struct Session: Sendable {
    public let connection: Connection
    public let api: EngageAPI

    public init(connection: Connection) {
        self.connection = connection
        api = EngageAPI(client: HTTPClient.shared, bases: connection.urls, timeout: .seconds(60))
    }

    /// The space the token opens (`GET /v1/access-token`), as a client of that space.
    public func space() async throws(CLIError) -> SpaceClient {
        guard let token = connection.token else {
            throw CLIError(
                ExitStatus.config,
                "no access token: pass --token, set ENGAGE_TOKEN, or save one with `engage config set --token`")
        }
        let response = try await call(.profiles, .GET, "/v1/access-token", token: token)
        guard response.ok, case .string(let spaceId)? = (try? JSONValue.parse(response.body))?["data"]?["spaceId"]
        else {
            throw CLIError.refused(response, doing: "reading the token's space")
        }
        return SpaceClient(api: api, spaceId: spaceId, token: token)
    }

    /// A call to the admin API (`/admin/...` on profiles) with the admin token.
    public func admin(_ method: EngageMethod, _ path: String, json: JSONValue? = nil) async throws(CLIError)
        -> EngageResponse
    {
        guard let token = connection.adminToken else {
            throw CLIError(
                ExitStatus.config,
                "no admin token: pass --admin-token, set ENGAGE_ADMIN_TOKEN, or save one with `engage config set --admin-token`"
            )
        }
        do {
            return try await call(
                .profiles, method, path, token: token, scheme: .bearer,
                body: json.map { .json(Data($0.compactText.utf8)) })
        } catch  where error.exitCode == ExitStatus.unauthorized {
            throw CLIError(ExitStatus.unauthorized, "the admin API refused the admin token")
        }
    }

    func call(
        _ service: EngageService, _ method: EngageMethod, _ path: String, token: String,
        scheme: EngageAuthScheme = .basic, body: EngageBody? = nil
    ) async throws(CLIError) -> EngageResponse {
        do {
            return try await api.call(service, method, path, token: token, scheme: scheme, body: body)
        } catch let failure as EngageFailure {
            throw failure.asCLIError
        } catch {
            throw CLIError(ExitStatus.unavailable, "\(service.rawValue): \(error)")
        }
    }
}

extension SpaceClient {
    /// A call whose answer must be a success; its JSON body.
    @discardableResult
    public func expect(
        _ method: EngageMethod, _ service: EngageService, _ path: String, json: JSONValue? = nil,
        query: [(String, String)] = [], doing action: String
    ) async throws(CLIError) -> JSONValue {
        let response = try await attempt(method, service, path, json: json, query: query)
        guard response.ok else { throw CLIError.refused(response, doing: action) }
        if response.body.isEmpty { return .null }
        do {
            return try JSONValue.parse(response.body)
        } catch {
            throw CLIError(ExitStatus.unavailable, "\(action): the answer is not JSON (\(error))")
        }
    }

    /// A call whose every answer is returned (a 404 may be expected); transport failures throw.
    public func attempt(
        _ method: EngageMethod, _ service: EngageService, _ path: String, json: JSONValue? = nil,
        query: [(String, String)] = []
    ) async throws(CLIError) -> EngageResponse {
        try await attempt(method, service, path, body: json.map { .json(Data($0.compactText.utf8)) }, query: query)
    }

    /// The same with any body (a CSV file).
    public func attempt(
        _ method: EngageMethod, _ service: EngageService, _ path: String, body: EngageBody?,
        query: [(String, String)] = []
    ) async throws(CLIError) -> EngageResponse {
        do {
            if let body { return try await send(method, service, path, body: body, query: query) }
            return method == .GET
                ? try await get(service, path, query: query) : try await send(method, service, path, query: query)
        } catch let failure as EngageFailure {
            throw failure.asCLIError
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError(ExitStatus.unavailable, "\(service.rawValue): \(error)")
        }
    }

    /// Every item of a `{"data": [...]}` list, following `next` -> `cursor` paging when there is one.
    public func list(_ service: EngageService, _ path: String, query: [(String, String)] = [], doing action: String)
        async throws(CLIError) -> [JSONValue]
    {
        var items: [JSONValue] = []
        var cursor: String?
        repeat {
            var parameters = query
            if let cursor { parameters.append(("cursor", cursor)) }
            let page = try await expect(.GET, service, path, query: parameters, doing: action)
            // A 200 that is not a list (a proxy's page, another API) is not an empty list.
            guard let data = page["data"]?.arrayValue else {
                throw CLIError(ExitStatus.unavailable, "\(action): the answer is not a {\"data\": [...]} list")
            }
            items += data
            cursor = (page["next"] ?? page["nextCursor"])?.stringValue
        } while cursor != nil
        return items
    }
}
