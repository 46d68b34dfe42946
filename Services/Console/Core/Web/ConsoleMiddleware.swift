import EngageClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Turns what handlers throw into pages: no session → sign-in; a refused token → sign-in with the
/// reason (the cookie is cleared); a refused CSRF token → 403; a service not answering → 502 that
/// names it; anything else → 500 with the request id to find it in the log.
struct ConsoleErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let console: Console

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let redirect as ConsoleRedirect {
            return Response(status: .seeOther, headers: [.location: redirect.location])
        } catch EngageFailure.unauthorized {
            var response = Response(
                status: .seeOther,
                headers: [.location: ConsoleRedirect.signIn(next: nil, reason: "token").location])
            response.setCookie(console.clearedCookie(SessionCodec.cookieName))
            return response
        } catch is CSRFCheck.Refused {
            return console.errorPage(
                request, session: console.optionalSession(request), heading: "This form was refused",
                detail:
                    "It came from another site, or from a page opened before you last signed in. Reload the page and try again.",
                status: .forbidden)
        } catch EngageFailure.unreachable(let service, let error) {
            console.logger.warning(
                "upstream not answering", metadata: ["service": "\(service.rawValue)", "error": "\(error)"])
            return console.errorPage(
                request, session: console.optionalSession(request),
                heading: "The \(service.rawValue) service is not answering",
                detail: "Nothing was changed. Try again in a moment; if it persists, check that service's /ready.",
                status: .badGateway)
        } catch let error as HTTPResponseError {
            if error.status == .notFound {
                return console.errorPage(
                    request, session: console.optionalSession(request), heading: "Not found",
                    detail: "There is no such page in the console.", status: .notFound)
            }
            throw error
        } catch {
            let requestId = request.headers[HTTPField.Name("X-Request-Id")!] ?? ""
            console.logger.error(
                "console request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            return console.errorPage(
                request, session: console.optionalSession(request), heading: "Something went wrong",
                detail:
                    "The console could not finish this request. \(requestId.isEmpty ? "" : "Request id: \(requestId).")",
                status: .internalServerError)
        }
    }
}

/// Headers every answer carries: no framing by other sites, scripts and styles only from the
/// console itself, no sniffing, no referrer to other sites.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var policy: String {
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; "
            + "frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var response = try await next(request, context)
        response.headers[HTTPField.Name("Content-Security-Policy")!] = Self.policy
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        if response.headers[.cacheControl] == nil, request.uri.path.hasPrefix("/assets") == false,
            request.uri.path.hasPrefix("/vendor") == false
        {
            response.headers[.cacheControl] = "no-store"
        }
        return response
    }
}
